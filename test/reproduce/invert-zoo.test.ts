import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoRA } from '../../src/adapters';
import { invertLora } from '../../src/inversion';
import { inProcessRunner, workerThreadsRunner } from '../../src/parallel';
import { loraSeed } from '../../src/random';
import { invertZooEntries, zooInversionJobs } from '../../src/reproduce/invert-zoo';
import { inversionGeneratorFile, inversionPriorFile } from '../../src/reproduce/prior-choice';
import { saveBackbone } from '../../src/backbone/shipped';
import { GlyphVae } from '../../src/prior/glyph-vae';
import { SHIPPED_GLYPH_VAE_FILE, saveGlyphVae } from '../../src/prior/glyph-vae-file';
import { assetPath } from '../../src/paths';
import { efficientNetPriorPath, SHIPPED_PRIOR_FILE } from '../../src/prior';
import { disposeSurrogateSets, readSurrogateData, type RecordedSurrogateSet } from '../../src/surrogate';
import { useSyntheticZoo } from '../zoo/fixtures';
import { INVERT_ZOO_CONFIG } from './micro-config';

// The reproduction inverts its zoo through the parallel pool's job code (files in, surrogate
// folders out). This checks that path gives the very images the direct call to invertLora gives,
// each LoRA with its own seed (loraSeed of the run's seed and its id).
const made = useSyntheticZoo('invert-zoo-');

describe('invertZooEntries (the reproduction through the parallel jobs)', () => {
  it.each([
    { name: 'in-process', runner: inProcessRunner({ backend: 'cpu' }) },
    { name: 'workers', runner: workerThreadsRunner({ backend: 'cpu' }) },
  ])('gives bit for bit the images, kept patches and confidences of invertLora called directly ($name)', async ({ name, runner }) => {
    const pruning = { 1: 0.5 };
    const out = path.join(made.tmp, `surrogates-${name}`);
    const before = tf.memory().numTensors;
    const sets = await invertZooEntries(made.backbone, made.zoo.directory!, made.zoo.entries, INVERT_ZOO_CONFIG, pruning, out, { runner });
    expect(sets.map((s) => s.record.classNames)).toEqual(made.zoo.entries.map((e) => e.classIds));
    expect(fs.readdirSync(out).sort()).toEqual(made.zoo.entries.map((e) => e.id).sort());
    for (const [i, entry] of made.zoo.entries.entries()) {
      const teacher = { adapter: LoRA.fromParameters(entry.parameters), head: entry.head! };
      const direct = await invertLora(made.backbone, teacher, null, {
        ways: entry.head!.classes,
        shots: 1,
        queries: 1,
        steps: 3,
        learningRate: 0.25,
        priorWeight: 0,
        pruning,
        pruneFrom: 0.25,
        seed: loraSeed(5, entry.id),
        classNames: entry.classIds,
      });
      const expected = direct.toRecordedSurrogateSet(entry.id);
      const got = sets[i];
      expect(Array.from(got.images.dataSync())).toEqual(Array.from(expected.images.dataSync()));
      expect(Array.from(got.pixels.dataSync())).toEqual(Array.from(expected.pixels.dataSync()));
      expect(Array.from(got.masks!.dataSync())).toEqual(Array.from(expected.masks!.dataSync()));
      expect(got.targets).toEqual(expected.targets);
      expect(got.keptPatches).toEqual(expected.keptPatches);
      expect(got.record.targetConfidence).toEqual(expected.record.targetConfidence);
      expect(got.record.seed).toBe(loraSeed(5, entry.id));
      expect(got.record.history.map((s) => s.loss)).toEqual(expected.record.history.map((s) => s.loss));
      expect(got.teacher.head).toBe(entry.head);
      expect(readSurrogateData(path.join(out, entry.id)).info.teacherLora).toBe(path.join(made.zoo.directory!, `${entry.id}.safetensors`));
      tf.dispose([expected.images, expected.pixels, expected.masks!]);
      direct.dispose();
      teacher.adapter.dispose();
    }
    disposeSurrogateSets(sets);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('an inversion job with a generator (inversion.generator)', () => {
  it("hands every job the generator's file, and the job draws through it the very images invertLora draws with that generator", async () => {
    const file = path.join(made.tmp, 'generator', 'vae.safetensors');
    const generator = GlyphVae.random({ imageSize: made.backbone.config.imageSize, latent: 4, widths: [4] }, 2);
    saveGlyphVae(file, generator);
    const backboneDir = path.join(made.tmp, 'generator', 'backbone');
    saveBackbone(backboneDir, made.backbone);
    const [entry] = made.zoo.entries;
    const out = path.join(made.tmp, 'generator', 'out');
    const config = { ...INVERT_ZOO_CONFIG, inversion: { ...INVERT_ZOO_CONFIG.inversion, strokes: 0, learningRate: 0.5 } };
    const jobs = zooInversionJobs({ backbone: backboneDir, zoo: made.zoo.directory!, generator: file }, [entry], config, {}, out);
    expect(jobs.map((job) => job.generator)).toEqual([file]);
    expect(zooInversionJobs({ backbone: 'b', zoo: made.zoo.directory! }, [entry], config, {}, out)[0]).not.toHaveProperty('generator');
    await inProcessRunner({ backend: 'cpu' }).run(jobs);
    const teacher = { adapter: LoRA.fromParameters(entry.parameters), head: entry.head! };
    const direct = await invertLora(made.backbone, teacher, null, { ...jobs[0].options, generator });
    const written = readSurrogateData(path.join(out, entry.id));
    expect(Array.from(written.pixels)).toEqual(Array.from(direct.pixels.dataSync()));
    direct.dispose();
    teacher.adapter.dispose();
    generator.dispose();
    expect(inversionGeneratorFile({ ...config.inversion, generator: 'glyph-vae' })).toBe(assetPath(...SHIPPED_GLYPH_VAE_FILE));
    expect(inversionGeneratorFile(config.inversion)).toBeUndefined();
  });
});

/** The bytes of a tensor's float32 values/** The bytes of a tensor's float32 values: equal bytes are bit-identical images (NaN and −0 included). */
const bytesOf = (t: tf.Tensor) => {
  const values = t.dataSync() as Float32Array;
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
};

describe('the seeds of the inversions of a zoo', () => {
  // one run of the reproduction's three inversions of the zoo (lora-recycle, the noise row with 0
  // steps, the pruned variant with another schedule), plus lora-recycle once more
  const runs: Record<'recycle' | 'again' | 'noise' | 'pruned', RecordedSurrogateSet[]> = { recycle: [], again: [], noise: [], pruned: [] };
  const invert = (name: string, steps: number, pruning: Record<number, number>) =>
    invertZooEntries(
      made.backbone,
      made.zoo.directory!,
      made.zoo.entries,
      { ...INVERT_ZOO_CONFIG, inversion: { ...INVERT_ZOO_CONFIG.inversion, steps } },
      pruning,
      path.join(made.tmp, `seeds-${name}`),
      { runner: inProcessRunner({ backend: 'cpu' }) },
    );

  beforeAll(async () => {
    runs.recycle = await invert('recycle', 3, { 1: 0.5 });
    runs.again = await invert('again', 3, { 1: 0.5 });
    runs.noise = await invert('noise', 0, {});
    runs.pruned = await invert('pruned', 3, { 0: 0.5 });
  });
  afterAll(() => Object.values(runs).forEach(disposeSurrogateSets));

  it('gives the job of each LoRA its own seed, loraSeed(run seed, LoRA id), so their starting images differ', () => {
    const jobs = zooInversionJobs({ backbone: 'b', zoo: made.zoo.directory! }, made.zoo.entries, INVERT_ZOO_CONFIG, {}, 'out');
    const seeds = jobs.map((job) => job.options.seed);
    expect(seeds).toEqual(made.zoo.entries.map((entry) => loraSeed(5, entry.id)));
    expect(new Set(seeds).size).toBe(made.zoo.entries.length);
    expect(runs.noise.map((set) => set.record.seed)).toEqual(seeds);
    const [a, b] = runs.noise; // the un-optimised starts (0 steps), same shape: 3 ways × (1 + 1)
    expect(a.pixels.shape).toEqual(b.pixels.shape);
    expect(bytesOf(a.pixels).equals(bytesOf(b.pixels))).toBe(false);
  });

  it("hands the configuration's inversion settings to every job, and names the prior's file by inversion.prior", () => {
    const jobsWith = (inversion: typeof INVERT_ZOO_CONFIG.inversion) =>
      zooInversionJobs({ backbone: 'b', zoo: made.zoo.directory! }, made.zoo.entries, { ...INVERT_ZOO_CONFIG, inversion }, {}, 'out');
    const settings = { tvWeight: 0.01, diversityWeight: 1, flip: false, minCropScale: 0.5, unadaptedWeight: 2, strokes: 6 };
    const inversion = { ...INVERT_ZOO_CONFIG.inversion, ...settings };
    for (const job of jobsWith(inversion)) expect(job.options).toMatchObject(settings);
    for (const job of jobsWith({ ...INVERT_ZOO_CONFIG.inversion, parameterSide: 8 })) expect(job.options.parameterSide).toBe(8);
    expect(inversionPriorFile({ ...inversion, priorWeight: 0 })).toBeUndefined();
    expect(inversionPriorFile({ ...inversion, priorWeight: 0.01 })).toBe(assetPath(...SHIPPED_PRIOR_FILE));
    expect(inversionPriorFile({ ...inversion, priorWeight: 0.01, prior: 'efficientnet-lite0' })).toBe(efficientNetPriorPath());
  });

  it('makes the noise set of a LoRA the start of the inversion of that LoRA (same seed), in the pruned variant too', async () => {
    for (const [i, entry] of made.zoo.entries.entries()) {
      const seed = runs.recycle[i].record.seed!;
      expect([runs.noise[i].record.seed, runs.pruned[i].record.seed]).toEqual([seed, seed]);
      const teacher = { adapter: LoRA.fromParameters(entry.parameters), head: entry.head! };
      // the real inversion's options with 0 steps: its pixels before the first step
      const start = await invertLora(made.backbone, teacher, null, {
        ways: entry.head!.classes,
        shots: 1,
        queries: 1,
        steps: 0,
        learningRate: 0.25,
        priorWeight: 0,
        pruning: { 1: 0.5 },
        pruneFrom: 0.25,
        seed,
        classNames: entry.classIds,
      });
      expect(bytesOf(runs.noise[i].pixels).equals(bytesOf(start.pixels))).toBe(true);
      expect(bytesOf(runs.noise[i].pixels).equals(bytesOf(runs.recycle[i].pixels))).toBe(false); // the inversion moved from it
      start.dispose();
      teacher.adapter.dispose();
    }
  });

  it('gives bit-identical surrogate images when the same run is made twice', () => {
    for (const [i, entry] of made.zoo.entries.entries()) {
      const [first, second] = [runs.recycle[i], runs.again[i]];
      expect(bytesOf(second.pixels).equals(bytesOf(first.pixels)), entry.id).toBe(true);
      expect(bytesOf(second.images).equals(bytesOf(first.images)), entry.id).toBe(true);
      expect(bytesOf(second.masks!).equals(bytesOf(first.masks!)), entry.id).toBe(true);
      const [fileFirst, fileSecond] = ['recycle', 'again'].map(
        (name) => readSurrogateData(path.join(made.tmp, `seeds-${name}`, entry.id)).pixels,
      );
      expect(
        Buffer.from(fileSecond.buffer, fileSecond.byteOffset, fileSecond.byteLength).equals(
          Buffer.from(fileFirst.buffer, fileFirst.byteOffset, fileFirst.byteLength),
        ),
      ).toBe(true);
    }
  });
});
