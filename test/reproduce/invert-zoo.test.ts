import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LoRA } from '../../src/adapters';
import { selectBackend } from '../../src/backend';
import { invertLora } from '../../src/inversion';
import { VisionTransformer, type ViTConfig } from '../../src/model';
import { PARALLEL_MODE_ENV } from '../../src/parallel';
import type { RunConfig } from '../../src/reproduce/config';
import { invertZooEntries } from '../../src/reproduce/invert-zoo';
import { disposeSurrogateSets, readSurrogateData } from '../../src/surrogate';
import { buildZoo, type Zoo } from '../../src/zoo';
import { syntheticDataset } from '../data/synthetic';

// The reproduction inverts its zoo through the parallel pool's job code (files in, surrogate
// folders out). This checks that path gives the very images the direct call to invertLora gives.
const VIT: ViTConfig = { imageSize: 8, patchSize: 4, channels: 3, width: 16, depth: 2, heads: 2, mlpWidth: 32, projectionDim: 16, layerNormEps: 1e-5 };
const CONFIG = {
  backbone: { source: 'random', config: VIT, seed: 3 },
  inversion: { steps: 3, shots: 1, queries: 1, learningRate: 0.25, priorWeight: 0, pruning: {}, pruneStartFraction: 0.25 },
  evaluation: { seed: 5 },
} as unknown as RunConfig; // only the fields inversion reads

let tmp: string;
let backbone: VisionTransformer;
let zoo: Zoo;

beforeAll(async () => {
  await selectBackend('cpu');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'invert-zoo-'));
  backbone = VisionTransformer.random(VIT, 3);
  const base = syntheticDataset([6, 6, 6, 6, 6, 6], 'base', 8);
  zoo = await buildZoo(backbone, base, path.join(tmp, 'zoo'), { size: 2, ways: 3, shots: 1, heldOut: 1, rank: 2, steps: 1, learningRate: 0.01, seed: 1 });
});
afterAll(() => {
  zoo.dispose();
  backbone.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('invertZooEntries (the reproduction through the parallel jobs)', () => {
  it.each(['in-process', 'workers'])('gives bit for bit the images, kept patches and confidences of invertLora called directly (%s)', async (mode) => {
    vi.stubEnv(PARALLEL_MODE_ENV, `invert=${mode}`);
    const pruning = { 1: 0.5 };
    const out = path.join(tmp, `surrogates-${mode}`);
    const before = tf.memory().numTensors;
    const sets = await invertZooEntries(backbone, zoo.directory!, zoo.entries, CONFIG, pruning, out, { backend: 'cpu' });
    expect(sets.map((s) => s.record.classNames)).toEqual(zoo.entries.map((e) => e.classIds));
    expect(fs.readdirSync(out).sort()).toEqual(zoo.entries.map((e) => e.id).sort());
    for (const [i, entry] of zoo.entries.entries()) {
      const teacher = { adapter: LoRA.fromParameters(entry.parameters), head: entry.head! };
      const direct = await invertLora(backbone, teacher, null, {
        ways: entry.head!.classes, shots: 1, queries: 1, steps: 3, learningRate: 0.25, priorWeight: 0, pruning, pruneFrom: 0.25, seed: 5, classNames: entry.classIds,
      });
      const expected = direct.toRecordedSurrogateSet(entry.id);
      const got = sets[i];
      expect(Array.from(got.images.dataSync())).toEqual(Array.from(expected.images.dataSync()));
      expect(Array.from(got.pixels.dataSync())).toEqual(Array.from(expected.pixels.dataSync()));
      expect(Array.from(got.masks!.dataSync())).toEqual(Array.from(expected.masks!.dataSync()));
      expect(got.targets).toEqual(expected.targets);
      expect(got.keptPatches).toEqual(expected.keptPatches);
      expect(got.record.targetConfidence).toEqual(expected.record.targetConfidence);
      expect(got.record.history.map((s) => s.loss)).toEqual(expected.record.history.map((s) => s.loss));
      expect(got.teacher.head).toBe(entry.head);
      expect(readSurrogateData(path.join(out, entry.id)).info.teacherLora).toBe(path.join(zoo.directory!, `${entry.id}.safetensors`));
      tf.dispose([expected.images, expected.pixels, expected.masks!]);
      direct.dispose();
      teacher.adapter.dispose();
    }
    disposeSurrogateSets(sets);
    expect(tf.memory().numTensors).toBe(before);
    vi.unstubAllEnvs();
  });
});
