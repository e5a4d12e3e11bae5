import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoRA } from '../../src/adapters';
import { CompatibilityError } from '../../src/errors';
import { invertLora } from '../../src/inversion';
import { metaTrain, type MetaTrainOptions } from '../../src/meta/meta-train';
import { surrogateSetsDigest } from '../../src/meta/run-fingerprint';
import type { RunEvent } from '../../src/progress/events';
import {
  disposeSurrogateSets,
  readSurrogateSet,
  writeSurrogateSet,
  type RecordedSurrogateSet,
  type SurrogateSet,
} from '../../src/surrogate';
import { randomTeacher, responsiveBackbone, SMALL_VIT } from '../inversion/fixtures';
import { useTestBackend } from '../test-backend';
import { ToyAdapter, ToyModel, toySet } from './toy';

// A meta-training checkpoint resumes only the run it belongs to: the same surrogate sets (content
// and teachers) and the same settings; a set read back from its file is the same set.
beforeAll(async () => {
  await useTestBackend('cpu');
});

const model = new ToyModel(4 * 4 * 3, 8);
const sets = [toySet(model, 3, 4, 11), toySet(model, 3, 4, 21)];
const base: MetaTrainOptions = { steps: 2, episode: { ways: 3, shots: 1, queries: 2 }, patchGrid: 2, seed: 5 };
const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-fingerprint-'));
afterAll(() => fs.rmSync(tempRoot, { recursive: true, force: true }));
const tempFile = () => path.join(fs.mkdtempSync(path.join(tempRoot, 'case-')), 'meta-checkpoint.json');

/** sets[0] with one value of one image changed. */
function withOnePixelChanged(set: SurrogateSet): SurrogateSet {
  const values = Float32Array.from(set.images.dataSync() as Float32Array);
  values[5] += 0.01;
  return { ...set, images: tf.tensor4d(values, set.images.shape) };
}

describe('meta-training checkpoint fingerprint', () => {
  it('resumes the same surrogate sets with the same settings', async () => {
    const file = tempFile();
    await metaTrain(model, new ToyAdapter(8, 100), sets, { ...base, checkpointPath: file });
    const events: RunEvent[] = [];
    const result = await metaTrain(model, new ToyAdapter(8, 999), sets, {
      ...base,
      steps: 4,
      checkpointPath: file,
      onEvent: (e) => events.push(e),
    });
    expect(events.some((e) => e.kind === 'phase' && e.phase === 'resumed')).toBe(true);
    expect(result.history.map((h) => h.step)).toEqual([1, 2, 3, 4]);
  });

  it('refuses the checkpoint of other surrogate sets: one pixel changed, another teacher adapter, another head', async () => {
    const file = tempFile();
    await metaTrain(model, new ToyAdapter(8, 100), sets, { ...base, checkpointPath: file });
    const changed = withOnePixelChanged(sets[0]);
    const otherAdapter = new ToyAdapter(8, 77, false);
    const otherWeight = tf.randomNormal([8, 3], 0, 1, 'float32', 78);
    const others: SurrogateSet[][] = [
      [changed, sets[1]],
      [{ ...sets[0], teacher: { ...sets[0].teacher, adapter: otherAdapter } }, sets[1]],
      [{ ...sets[0], teacher: { ...sets[0].teacher, head: { apply: (f: tf.Tensor2D) => tf.matMul(f, otherWeight) } } }, sets[1]],
      [sets[1], sets[0]], // the same sets in another order teach other episodes
    ];
    for (const other of others) {
      const run = metaTrain(model, new ToyAdapter(8, 100), other, { ...base, steps: 4, checkpointPath: file });
      await expect(run).rejects.toThrow(CompatibilityError);
      await expect(metaTrain(model, new ToyAdapter(8, 100), other, { ...base, steps: 4, checkpointPath: file })).rejects.toThrow(
        /belongs to other surrogate sets .* delete .*meta-checkpoint\.json or pass resume: false/,
      );
    }
    // resume: false starts afresh on the new sets (and overwrites the checkpoint)
    const fresh = await metaTrain(model, new ToyAdapter(8, 100), others[0], { ...base, steps: 4, checkpointPath: file, resume: false });
    expect(fresh.history.map((h) => h.step)).toEqual([1, 2, 3, 4]);
    changed.images.dispose();
    otherAdapter.dispose();
    otherWeight.dispose();
  });

  it('refuses the checkpoint of other settings and names them', async () => {
    const file = tempFile();
    await metaTrain(model, new ToyAdapter(8, 100), sets, { ...base, checkpointPath: file });
    await expect(metaTrain(model, new ToyAdapter(8, 100), sets, { ...base, steps: 4, flip: false, checkpointPath: file })).rejects.toThrow(
      /belongs to other meta-training settings \(flip\), so it cannot be resumed/,
    );
    await expect(
      metaTrain(model, new ToyAdapter(8, 100), sets, { ...base, steps: 4, interpolatedFraction: 0.25, checkpointPath: file }),
    ).rejects.toThrow(CompatibilityError);
  });

  it('hashes content once without leaving tensors, and tells sets apart by content only', () => {
    const before = tf.memory().numTensors;
    const digest = surrogateSetsDigest(model, sets);
    expect(tf.memory().numTensors).toBe(before);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(surrogateSetsDigest(model, [{ ...sets[0], images: sets[0].images.clone() }, sets[1]])).toBe(digest); // a copy is the same set
    const changed = withOnePixelChanged(sets[0]);
    expect(surrogateSetsDigest(model, [changed, sets[1]])).not.toBe(digest);
    expect(surrogateSetsDigest(model, [{ ...sets[0], targets: [...sets[0].targets].reverse() }, sets[1]])).not.toBe(digest);
    changed.images.dispose();
  });

  it('leaves the tensor count of a checkpointed run flat', async () => {
    const meta = new ToyAdapter(8, 700);
    const file = tempFile();
    await metaTrain(model, meta, sets, { ...base, checkpointPath: file });
    const before = tf.memory().numTensors;
    await metaTrain(model, meta, sets, { ...base, steps: 6, checkpointPath: file });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('surrogate sets written and read back', () => {
  it('hash as the sets written, so a reproduction resumed from its work folder resumes meta-training', async () => {
    const backbone = responsiveBackbone(SMALL_VIT, 1);
    const teacher = randomTeacher(SMALL_VIT, 3, 2);
    const options = { ways: 3, shots: 1, queries: 1, steps: 2, seed: 4, classNames: ['a', 'b', 'c'] };
    const inversions = [
      await invertLora(backbone, teacher, null, { ...options, pruning: { 1: 0.5 }, pruneFrom: 0 }),
      await invertLora(backbone, teacher, null, options),
    ];
    const written: RecordedSurrogateSet[] = inversions.map((r, i) => r.toRecordedSurrogateSet(`lora-${i}`));
    inversions.forEach((r) => r.dispose());
    const dirs = written.map((_, i) => path.join(fs.mkdtempSync(path.join(tempRoot, 'sets-')), `lora-${i}`));
    written.forEach((set, i) => writeSurrogateSet(dirs[i], set));
    // read back as a resumed reproduction does: each teacher a new LoRA from the zoo's parameters, the zoo's head
    const parameters = (teacher.adapter as LoRA).toParameters();
    const readBack = dirs.map((dir) =>
      readSurrogateSet(dir, { adapter: LoRA.fromParameters(parameters, { trainable: false }), head: teacher.head }),
    );
    tf.dispose(parameters.factors.flatMap((f) => [f.a, f.b]));
    expect(surrogateSetsDigest(backbone, readBack)).toBe(surrogateSetsDigest(backbone, written));

    const file = tempFile();
    const meta = {
      ...base,
      steps: 2,
      episode: { ways: 3, shots: 1, queries: 1 },
      patchGrid: 4,
      interpolatedFraction: 0,
      checkpointPath: file,
    };
    const pruned = (s: RecordedSurrogateSet[]) => [s[0]]; // sparse and dense sets do not mix in one episode
    const first = LoRA.create(SMALL_VIT, { seed: 9 });
    await metaTrain(backbone, first, pruned(written), meta);
    const second = LoRA.create(SMALL_VIT, { seed: 9 });
    const resumed = await metaTrain(backbone, second, pruned(readBack), { ...meta, steps: 3 });
    expect(resumed.history.map((h) => h.step)).toEqual([1, 2, 3]);
    [first, second].forEach((l) => l.dispose());
    for (const set of written) tf.dispose([set.images, set.pixels, ...(set.masks ? [set.masks] : [])]);
    disposeSurrogateSets(readBack);
    teacher.dispose();
    backbone.dispose();
  });
});
