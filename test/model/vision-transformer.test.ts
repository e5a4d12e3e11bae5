import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LoRA } from '../../src/adapters';
import { ShapeError } from '../../src/errors';
import { VisionTransformer, TINY_VIT, randomViTWeights } from '../../src/model';
import { TEST_VIT } from './tiny-config';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

function images(batch: number, seed = 7): tf.Tensor4D {
  return tf.randomNormal([batch, TEST_VIT.imageSize, TEST_VIT.imageSize, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('VisionTransformer', () => {
  it('returns the projected [CLS] feature and per-layer attention rows that sum to one', () => {
    const model = VisionTransformer.random(TEST_VIT, 1);
    const x = images(3);
    const out = model.forward(x, { returnAttention: true });
    expect(out.features.shape).toEqual([3, TEST_VIT.projectionDim]);
    expect(out.attentions).toHaveLength(TEST_VIT.depth);
    expect(out.attentions![0].shape).toEqual([3, TEST_VIT.heads, 17, 17]);
    const rowSums = tf.sum(out.attentions![1], -1).dataSync();
    for (const s of rowSums) expect(s).toBeCloseTo(1, 5);
    expect(out.keptPatches.arraySync()[2]).toEqual(Array.from({ length: 16 }, (_, i) => i));
    model.dispose();
  });

  it('works at the shipped tiny size (32×32, patch 4 → 65 tokens)', () => {
    const model = VisionTransformer.random(TINY_VIT, 2);
    const out = model.forward(tf.zeros([2, 32, 32, 3]), { returnAttention: true });
    expect(out.features.shape).toEqual([2, 192]);
    expect(out.attentions![3].shape).toEqual([2, 3, 65, 65]);
    model.dispose();
  });

  it('gives each image its own result regardless of the batch it is in', () => {
    const model = VisionTransformer.random(TEST_VIT, 3);
    const x = images(4);
    const batched = model.forward(x).features;
    const single = model.forward(tf.slice(x, [2, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D).features;
    expect(maxAbsDiff(tf.slice(batched, [2, 0], [1, -1]), single)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('sparse tokens with every position equal the dense forward; a subset changes the feature', () => {
    const model = VisionTransformer.random(TEST_VIT, 4);
    const x = images(2);
    const dense = model.forward(x).features;
    const all = tf.tensor2d([Array.from({ length: 16 }, (_, i) => i), Array.from({ length: 16 }, (_, i) => i)], undefined, 'int32');
    expect(maxAbsDiff(model.forward(x, { patchPositions: all }).features, dense)).toBeLessThan(1e-5);
    const some = tf.tensor2d(
      [
        [0, 5, 9, 15],
        [1, 2, 3, 4],
      ],
      undefined,
      'int32',
    );
    const sparse = model.forward(x, { patchPositions: some, returnAttention: true });
    expect(sparse.attentions![0].shape).toEqual([2, 2, 5, 5]);
    expect(sparse.keptPatches.arraySync()).toEqual([
      [0, 5, 9, 15],
      [1, 2, 3, 4],
    ]);
    expect(maxAbsDiff(sparse.features, dense)).toBeGreaterThan(1e-4);
    model.dispose();
  });

  it('a sparse forward keeps each token at its original position (permuting positions changes nothing)', () => {
    const model = VisionTransformer.random(TEST_VIT, 5);
    const x = images(1);
    const a = model.forward(x, { patchPositions: tf.tensor2d([[3, 8, 12]], undefined, 'int32') }).features;
    const b = model.forward(x, { patchPositions: tf.tensor2d([[12, 3, 8]], undefined, 'int32') }).features;
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('rejects images of the wrong size and positions out of range with a ShapeError', () => {
    const model = VisionTransformer.random(TEST_VIT, 6);
    expect(() => model.forward(tf.zeros([1, 9, 8, 3]))).toThrow(ShapeError);
    expect(() => model.forward(images(1), { patchPositions: tf.tensor2d([[0, 16]], undefined, 'int32') })).toThrow(/0\.\.15/);
    model.dispose();
  });

  it('rejects weights that do not fit the config, naming the tensor', () => {
    const weights = randomViTWeights({ ...TEST_VIT, mlpWidth: 20 }, 0);
    expect(() => new VisionTransformer(TEST_VIT, weights)).toThrow(/blocks\.0\.fc1\.kernel must be \[12,24\]/);
  });

  it.each([
    ['dense', {}, 1e-2],
    ['with token pruning', { 1: 0.5 }, 2e-3],
  ] as const)('passes gradients to the input pixels that match finite differences (%s)', (_, pruning, eps) => {
    const model = VisionTransformer.random(TEST_VIT, 8);
    const x = images(2, 11);
    const direction = tf.randomNormal([2, TEST_VIT.projectionDim], 0, 1, 'float32', 3);
    const loss = (input: tf.Tensor) => tf.sum(tf.mul(model.forward(input as tf.Tensor4D, { pruning }).features, direction));
    const grad = tf.grad(loss)(x);
    const g = grad.dataSync();
    const base = x.dataSync().slice();
    for (const index of [0, 17, 100, 250, 383]) {
      const plus = base.slice();
      plus[index] += eps;
      const minus = base.slice();
      minus[index] -= eps;
      const numeric = (loss(tf.tensor(plus, x.shape)).dataSync()[0] - loss(tf.tensor(minus, x.shape)).dataSync()[0]) / (2 * eps);
      expect(Math.abs(numeric - g[index])).toBeLessThan(2e-3 + 0.05 * Math.abs(numeric));
    }
    model.dispose();
  });

  it('passes gradients to LoRA factors (B nonzero after one step lets A learn too)', () => {
    const model = VisionTransformer.random(TEST_VIT, 9);
    const lora = LoRA.create(TEST_VIT, { seed: 1 });
    const x = images(2);
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.square(model.forward(x, { adapter: lora }).features)) as tf.Scalar,
      lora.trainableVariables(),
    );
    const norms = Object.values(grads).map((g) => tf.norm(g).dataSync()[0]);
    expect(norms).toHaveLength(2 * 2 * TEST_VIT.depth);
    expect(norms.filter((n) => n > 0).length).toBe(2 * TEST_VIT.depth); // ∂/∂B ≠ 0, ∂/∂A = 0 while B = 0
    model.dispose();
    lora.dispose();
  });
});
