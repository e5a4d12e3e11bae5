import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoRA } from '../../src/adapters';
import { ConfigError } from '../../src/errors';
import { invertLora } from '../../src/inversion';
import { metaTrain } from '../../src/meta';
import { LinearHead } from '../../src/model/head';
import { normalizedPixelBounds, normalizeImages } from '../../src/model/preprocess';
import { VisionTransformer } from '../../src/model/vision-transformer';
import { ablationStatements, pairedComparisons, zooKnowledge, zooKnowledgeStatement } from '../../src/reproduce/ablation';
import { realImageSet } from '../../src/reproduce/real-images';
import type { ZooEntry } from '../../src/zoo';
import { syntheticDataset } from '../data/synthetic';
import { ZOO_TEST_VIT } from '../model/tiny-config';
import { useTestBackend } from '../test-backend';

// The ablation's oracle and noise rows: the oracle's images are real images of the LoRA's own
// classes in the shape an inversion has, the noise is an inversion that never steps, and both
// meta-train through the one metaTrain like LoRA Recycle's surrogates.
const maxAbsDifference = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
let backbone: VisionTransformer;
let entry: ZooEntry;

beforeAll(async () => {
  await useTestBackend('cpu');
  backbone = VisionTransformer.random(ZOO_TEST_VIT, 1);
  const lora = LoRA.create(ZOO_TEST_VIT, { rank: 2, targets: ['q', 'v'], seed: 2 });
  entry = {
    id: 'lora-0',
    parameters: lora.toParameters(),
    head: LinearHead.create(ZOO_TEST_VIT.projectionDim, 3, 3),
    classIds: ['c1', 'c3', 'c4'],
    record: null,
  };
  lora.dispose();
});
afterAll(() => {
  backbone.dispose();
  tf.dispose(entry.parameters.factors.flatMap((f) => [f.a, f.b]));
  entry.head!.dispose();
});

describe('oracle images (realImageSet)', () => {
  it("holds shots + queries real images of each of the LoRA's classes, labelled by their place in its task", () => {
    const data = syntheticDataset([4, 4, 2, 4, 4], 'base', 8); // class c3 has 4 images, all distinct
    const before = tf.memory().numTensors;
    const set = realImageSet(backbone, data, entry, 3, 7, { cap: false });
    expect(set.targets).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    expect(set.images.shape).toEqual([9, 8, 8, 3]);
    expect(set.keptPatches).toBeNull();
    // each image is one of its class's own (synthetic pixels = store index / 255), distinct within the class
    const values = (set.pixels.arraySync() as number[][][][]).map((image) => Math.round(image[0][0][0] * 255));
    const own = (classId: string) => data.imagesOf(classId).map((r) => r.index);
    values.forEach((index, i) => expect(own(entry.classIds[set.targets[i]])).toContain(index));
    [0, 3, 6].forEach((start) => expect(new Set(values.slice(start, start + 3)).size).toBe(3));
    expect(new Set(set.imageIds).size).toBe(9);
    expect(set.imageIds).toEqual(values.map((index) => `synthetic#${index}`));
    // the student sees the normalised images; the teacher is the zoo LoRA with its head
    expect(tf.tidy(() => maxAbsDifference(set.images, normalizeImages(set.pixels)))).toBeLessThan(1e-6);
    expect(set.teacher.head).toBe(entry.head);
    expect(set.record.targetConfidence).toHaveLength(9);
    set.record.targetConfidence.forEach((p) => expect(p).toBeGreaterThan(0));
    set.record.maxConfidence.forEach((p, i) => expect(p).toBeGreaterThanOrEqual(set.record.targetConfidence[i]));
    expect(set.record).toMatchObject({
      teacherLora: 'lora-0',
      classNames: entry.classIds,
      steps: 0,
      askedPerClass: 3,
      imagesPerClass: 3,
      capped: false,
    });
    tf.dispose([set.images, set.pixels]);
    set.teacher.adapter.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a class with fewer images than asked for, naming the LoRA, the class and both counts, unless capped', () => {
    const data = syntheticDataset([4, 2, 2, 6, 6], 'base', 8); // c1 has 2 images, c3 and c4 have 6
    expect(() => realImageSet(backbone, data, entry, 4, 1, { cap: false })).toThrow(
      /LoRA "lora-0" asks for 4 real images of class "c1", synthetic has 2; .*\{ cap: true \}/,
    );
    expect(() => realImageSet(backbone, data, entry, 4, 1, { cap: false })).toThrow(ConfigError);
  });

  it('with cap, takes as many distinct images of every class as the smallest class has, and records the cap', () => {
    const data = syntheticDataset([4, 3, 2, 6, 5], 'base', 8); // the LoRA's classes c1, c3, c4 have 3, 6, 5 images
    const before = tf.memory().numTensors;
    const set = realImageSet(backbone, data, entry, 4, 1, { cap: true });
    expect(set.targets).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    expect(set.images.shape).toEqual([9, 8, 8, 3]);
    expect(set.record).toMatchObject({ askedPerClass: 4, imagesPerClass: 3, capped: true });
    const values = (set.pixels.arraySync() as number[][][][]).map((image) => Math.round(image[0][0][0] * 255));
    [0, 3, 6].forEach((start) => expect(new Set(values.slice(start, start + 3)).size).toBe(3)); // no image twice in a class
    expect(new Set(values).size).toBe(9);
    tf.dispose([set.images, set.pixels]);
    set.teacher.adapter.dispose();
    // enough images everywhere: the cap changes nothing and says so
    const full = realImageSet(backbone, data, entry, 2, 1, { cap: true });
    expect(full.record).toMatchObject({ askedPerClass: 2, imagesPerClass: 2, capped: false });
    tf.dispose([full.images, full.pixels]);
    full.teacher.adapter.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names a class without images', () => {
    expect(() => realImageSet(backbone, syntheticDataset([4, 0, 4, 4, 4], 'base', 8), entry, 2, 1, { cap: true })).toThrow(
      /class "c1" of LoRA "lora-0" has no images/,
    );
  });
});

describe('noise images (an inversion of 0 steps)', () => {
  it('are the clamped random start of the inversion, never optimised, with the same targets and teacher', async () => {
    const teacher = { adapter: LoRA.fromParameters(entry.parameters, { trainable: false }), head: entry.head! };
    const options = { ways: 3, shots: 1, queries: 2, steps: 0, seed: 11 };
    const noise = await invertLora(backbone, teacher, null, options);
    expect(noise.steps).toBe(0);
    expect(noise.targets).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    const { low, high } = normalizedPixelBounds();
    const start = tf.tidy(() =>
      tf.minimum(tf.maximum(tf.randomNormal([9, 8, 8, 3], 0, 1, 'float32', 11), tf.tensor1d(low)), tf.tensor1d(high)),
    );
    expect(maxAbsDifference(noise.images, start)).toBeLessThan(1e-6);
    const stepped = await invertLora(backbone, teacher, null, { ...options, steps: 2 });
    expect(maxAbsDifference(stepped.images, start)).toBeGreaterThan(1e-3);
    start.dispose();

    // the same meta-training code path takes it: a few steps run and change the meta-LoRA
    const metaLora = LoRA.create(ZOO_TEST_VIT, { rank: 2, targets: ['q', 'v'], seed: 5 });
    const before = metaLora.trainableVariables().map((v) => v.dataSync().slice());
    const result = await metaTrain(backbone, metaLora, [noise.toSurrogateSet()], {
      steps: 2,
      episode: { ways: 3, shots: 1, queries: 2 },
      patchGrid: 2,
      interpolatedFraction: 0,
    });
    expect(result.steps).toBe(2);
    expect(metaLora.trainableVariables().some((v, i) => v.dataSync().some((x, j) => x !== before[i][j]))).toBe(true);
    [noise, stepped].forEach((r) => r.dispose());
    teacher.adapter.dispose();
    metaLora.dispose();
  });
});

describe('ablation verdicts', () => {
  const flat = (value: number, n = 4) => Array.from({ length: n }, () => value);
  it('pairs recycle with noise and the oracle with recycle on the same episodes', () => {
    const paired = pairedComparisons(
      new Map([
        ['lora-recycle', [1, 0.8, 0.6, 0.4]],
        ['noise', [0.8, 0.8, 0.4, 0.4]],
        ['oracle', flat(1)],
      ]),
      [
        ['lora-recycle', 'noise'],
        ['oracle', 'lora-recycle'],
      ],
    );
    expect(paired['lora-recycle − noise'].mean).toBeCloseTo(0.1, 12);
    expect(paired['oracle − lora-recycle'].mean).toBeCloseTo(0.3, 12);
  });

  it('says in words which link holds and which breaks', () => {
    const d = (mean: number, ci95: number) => ({ mean, ci95, n: 600 });
    const lines = ablationStatements({
      setting: 'emoji-novel 5-way 1-shot',
      vsNn: { oracle: d(0.06, 0.01), 'lora-recycle': d(0.03, 0.01), noise: d(0.0, 0.01) },
      paired: { 'lora-recycle − noise': d(0.03, 0.01) },
    });
    expect(lines).toEqual([
      'emoji-novel 5-way 1-shot: meta-training on real zoo-task images helps (oracle − NN +6.00 ± 1.00 points).',
      'emoji-novel 5-way 1-shot: the surrogates are better than un-optimised noise with the same teachers: they carry something of their task (LoRA Recycle − noise +3.00 ± 1.00 points).',
      "emoji-novel 5-way 1-shot: the surrogates' point estimate is 50 % of the oracle's gain over NN (LoRA Recycle − NN +3.00 ± 1.00 points; a ratio of two estimates, no interval).",
    ]);
    const broken = ablationStatements({
      setting: 's',
      vsNn: { oracle: d(0.004, 0.01) },
      paired: { 'lora-recycle − noise': d(-0.002, 0.01) },
    });
    // a null oracle at one budget bounds nothing beyond it
    expect(broken[0]).toBe(
      "s: this recipe's meta-training on real zoo-task images shows no detectable effect at this budget (oracle − NN +0.40 ± 1.00 points), so here there is no measured gain for surrogates to recover; it does not bound other recipes or budgets.",
    );
    expect(broken[1]).toMatch(/^s: no detectable difference between the surrogates and un-optimised noise/);
    const harmful = ablationStatements({ setting: 's', vsNn: {}, paired: { 'lora-recycle − noise': d(-0.02, 0.01) } });
    expect(harmful[0]).toMatch(/^s: the surrogates are worse than un-optimised noise/);
    const single = ablationStatements({ setting: 's', vsNn: { oracle: { mean: 0.2, ci95: null, n: 1 } }, paired: {} });
    expect(single[0]).toMatch(/no detectable effect .*\+20\.00 \(n = 1, no interval\) points/);
  });

  it('compares each zoo LoRA with NN on its own held-out images, paired over LoRAs, and says whether there is knowledge to recycle', () => {
    const record = (heldOutAccuracy: number | null, nnHeldOutAccuracy?: number | null) => ({
      steps: 1,
      learningRate: 1,
      seed: 0,
      finalLoss: 0,
      trainAccuracy: 1,
      heldOutAccuracy,
      heldOutImages: 10,
      seconds: 0,
      ...(nnHeldOutAccuracy === undefined ? {} : { nnHeldOutAccuracy }),
    });
    // differences 0.2, 0.1, 0.3 (the older record without NN and the LoRA without held-out images are left out)
    const k = zooKnowledge([record(0.8, 0.6), record(0.5, 0.4), record(0.9, 0.6), record(0.7), record(null, null), null])!;
    expect(k.loras).toBe(3);
    expect(k.heldOut).toBeCloseTo(2.2 / 3, 12);
    expect(k.nnHeldOut).toBeCloseTo(1.6 / 3, 12);
    expect(k.difference.mean).toBeCloseTo(0.2, 12);
    // (0.2, 0.1, 0.3): sample variance 0.02 / 2, t(0.975, 2) = 4.3026527: ± 24.84 points, where 1.96 with the 1/n variance said ± 9.24
    expect(k.difference.ci95).toBeCloseTo((4.3026527 * 0.1) / Math.sqrt(3), 6);
    expect(zooKnowledgeStatement(k)).toMatch(
      /know their own classes no detectably better than .* \+20\.00 ± 24\.84 points over 3 LoRAs.*is not shown here/,
    );
    const clear = zooKnowledge([record(0.8, 0.6), record(0.7, 0.5), record(0.9, 0.7), record(0.6, 0.4), record(0.75, 0.55)])!;
    expect(zooKnowledgeStatement(clear)).toMatch(
      /know their own classes better .* \+20\.00 ± 0\.00 points over 5 LoRAs\): there is knowledge to recycle/,
    );
    const worse = zooKnowledge([record(0.5, 0.6), record(0.4, 0.5), record(0.45, 0.56)])!;
    expect(zooKnowledgeStatement(worse)).toMatch(/know their own classes worse than the frozen backbone's prototypes/);
    expect(zooKnowledge([record(0.5), null])).toBeNull();
  });
});
