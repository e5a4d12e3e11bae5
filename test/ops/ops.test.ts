import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors';
import { attention, batchMatMul, extractPatches, layerNorm, linear, matMul2d, quickGelu, roll, selectTokens } from '../../src/ops';
import { cotangentGrads, expectAllClose, expectFiniteDifference, expectNoLeak, randn } from './helpers';
import { useTestBackend } from '../test-backend';

let backend: string;

beforeAll(async () => {
  backend = await useTestBackend('wasm');
});

/** Compares value and gradients of `fast` with an independent stock-tfjs formulation `reference`. */
function expectSameAsReference(
  fast: (...x: tf.Tensor[]) => tf.Tensor,
  reference: (...x: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  tol = 1e-4,
): void {
  tf.tidy(() => {
    expectAllClose([fast(...inputs)], [reference(...inputs)], tol);
    expectAllClose(cotangentGrads(fast, inputs, 7), cotangentGrads(reference, inputs, 7), tol);
  });
}

describe('ops on the backend under test', () => {
  it('runs on the backend under test (wasm unless a pass names another)', () => {
    expect(tf.getBackend()).toBe(backend);
  });

  it('matMul2d matches tf.matMul in value and gradient, and finite differences', () => {
    const inputs = [randn([7, 5], 1), randn([5, 3], 2)];
    expectSameAsReference(
      (a, b) => matMul2d(a as tf.Tensor2D, b as tf.Tensor2D),
      (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
      inputs,
    );
    expectFiniteDifference((a, b) => matMul2d(a as tf.Tensor2D, b as tf.Tensor2D), inputs, 3);
    expectNoLeak(() => tf.dispose(cotangentGrads((a, b) => matMul2d(a as tf.Tensor2D, b as tf.Tensor2D), inputs, 4)));
    tf.dispose(inputs);
  });

  it('matMul2d computes no gradient for an input that needs none (frozen weight)', async () => {
    const [x, w] = [randn([6, 4], 1), randn([4, 3], 2)];
    const products = async (xs: tf.Tensor[]) => {
      const profile = await tf.profile(() =>
        tf.dispose(tf.grads((a: tf.Tensor) => tf.sum(matMul2d(a as tf.Tensor2D, w as tf.Tensor2D)))(xs)),
      );
      return profile.kernels.filter((k) => ['LoraRecycleMatMul2d', 'LoraRecycleMatMulT', 'BatchMatMul'].includes(k.name)).length; // BatchMatMul: native gradients
    };
    expect(await products([x])).toBe(2); // forward + dX only
    tf.dispose([x, w]);
  });

  it('batchMatMul matches batched tf.matMul in value and gradient', () => {
    const inputs = [randn([4, 5, 3], 1), randn([4, 3, 6], 2)];
    const fast = (a: tf.Tensor, b: tf.Tensor) => batchMatMul(a as tf.Tensor3D, b as tf.Tensor3D);
    expectSameAsReference(fast, (a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D), inputs);
    expectFiniteDifference(fast, inputs, 3);
    expectNoLeak(() => tf.dispose(cotangentGrads(fast, inputs, 4)));
    expect(() => batchMatMul(inputs[0] as tf.Tensor3D, inputs[0] as tf.Tensor3D)).toThrow(ShapeError);
    tf.dispose(inputs);
  });

  it('linear with and without bias matches x·W + b', () => {
    const inputs = [randn([6, 4], 1), randn([4, 5], 2), randn([5], 3)];
    const fast = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D);
    expectSameAsReference(fast, (x, w, b) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b), inputs);
    expectSameAsReference(
      (x, w) => linear(x as tf.Tensor2D, w as tf.Tensor2D),
      (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
      inputs.slice(0, 2),
    );
    expectFiniteDifference(fast, inputs, 5);
    expect(() => linear(inputs[0] as tf.Tensor2D, inputs[1] as tf.Tensor2D, randn([4], 9) as tf.Tensor1D)).toThrow(ShapeError);
    expect(() => matMul2d(inputs[0] as tf.Tensor2D, inputs[0] as tf.Tensor2D)).toThrow(/rows of b/);
    tf.dispose(inputs);
  });

  it('layerNorm matches the textbook formula and finite differences', () => {
    const inputs = [tf.add(randn([5, 8], 1), 3), tf.add(randn([8], 2), 1), randn([8], 3)];
    const fast = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5);
    const reference = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const mean = tf.mean(x, 1, true);
      const centred = tf.sub(x, mean);
      const variance = tf.mean(tf.square(centred), 1, true);
      return tf.add(tf.mul(tf.div(centred, tf.sqrt(tf.add(variance, 1e-5))), g), b);
    };
    expectSameAsReference(fast, reference, inputs, 1e-3);
    expectFiniteDifference(fast, inputs, 4);
    expectNoLeak(() => tf.dispose(cotangentGrads(fast, inputs, 5)));
    expect(() => layerNorm(inputs[0] as tf.Tensor2D, randn([7], 1) as tf.Tensor1D, inputs[2] as tf.Tensor1D, 1e-5)).toThrow(ShapeError);
    tf.dispose(inputs);
  });

  it('quickGelu is x·sigmoid(1.702x) with the right gradient', () => {
    const x = randn([4, 6], 1);
    expectSameAsReference(
      (t) => quickGelu(t),
      (t) => tf.div(t, tf.add(1, tf.exp(tf.mul(t, -1.702)))),
      [x],
      1e-4,
    );
    expectFiniteDifference((t) => quickGelu(t), [x], 2);
    x.dispose();
  });

  it('attention matches a per-head loop in output, weights and gradients', () => {
    const [b, t, h, d] = [2, 5, 3, 12];
    const inputs = [randn([b * t, d], 1), randn([b * t, d], 2), randn([b * t, d], 3)];
    const options = { batch: b, tokens: t, heads: h };
    const fast = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
      attention(q as tf.Tensor2D, k as tf.Tensor2D, v as tf.Tensor2D, options).output;
    const headWeights = (q: tf.Tensor, k: tf.Tensor, i: number, j: number) => {
      const rows = (x: tf.Tensor) => tf.slice(x, [i * t, j * (d / h)], [t, d / h]) as tf.Tensor2D;
      return tf.softmax(tf.div(tf.matMul(rows(q), rows(k), false, true), Math.sqrt(d / h)));
    };
    const reference = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => {
      const perBatch = [];
      for (let i = 0; i < b; i++) {
        const perHead = [];
        for (let j = 0; j < h; j++) {
          perHead.push(tf.matMul(headWeights(q, k, i, j) as tf.Tensor2D, tf.slice(v, [i * t, j * (d / h)], [t, d / h]) as tf.Tensor2D));
        }
        perBatch.push(tf.concat(perHead, 1));
      }
      return tf.concat(perBatch, 0);
    };
    expectSameAsReference(fast, reference, inputs, 1e-4);
    expectFiniteDifference(fast, inputs, 4);
    tf.tidy(() => {
      const { weights } = attention(inputs[0] as tf.Tensor2D, inputs[1] as tf.Tensor2D, inputs[2] as tf.Tensor2D, {
        ...options,
        returnWeights: true,
      });
      expect(weights!.shape).toEqual([b, h, t, t]);
      expectAllClose([tf.slice(weights!, [1, 2, 0, 0], [1, 1, t, t]).reshape([t, t])], [headWeights(inputs[0], inputs[1], 1, 2)]);
    });
    expectNoLeak(() => tf.dispose(cotangentGrads(fast, inputs, 5)));
    expect(() =>
      attention(inputs[0] as tf.Tensor2D, inputs[1] as tf.Tensor2D, inputs[2] as tf.Tensor2D, { batch: 3, tokens: t, heads: h }),
    ).toThrow(ShapeError);
    tf.dispose(inputs);
  });

  it('selectTokens gathers rows and is differentiable w.r.t. x (one-hot reference)', () => {
    const [b, t, d] = [3, 6, 4];
    const x = randn([b, t, d], 1);
    const positions = tf.tensor2d(
      [
        [0, 5],
        [2, 2],
        [4, 1],
      ],
      [b, 2],
      'int32',
    );
    const reference = (s: tf.Tensor) => tf.matMul(tf.oneHot(positions, t).toFloat() as tf.Tensor3D, s as tf.Tensor3D);
    expectSameAsReference((s) => selectTokens(s as tf.Tensor3D, positions), reference, [x]);
    expectNoLeak(() => tf.dispose(cotangentGrads((s) => selectTokens(s as tf.Tensor3D, positions), [x], 2)));
    expect(() => selectTokens(x as tf.Tensor3D, positions.toFloat() as tf.Tensor2D)).toThrow(/int32/);
    expect(() => selectTokens(x as tf.Tensor3D, tf.zeros([2, 2], 'int32') as tf.Tensor2D)).toThrow(ShapeError);
    tf.dispose([x, positions]);
  });

  it('extractPatches lays rows out as (py, px, c) and passes gradients to the pixels', () => {
    const [b, hw, c, p] = [2, 4, 3, 2];
    const images = randn([b, hw, hw, c], 1);
    const pixels = images.arraySync() as number[][][][];
    const patches = extractPatches(images as tf.Tensor4D, p);
    expect(patches.shape).toEqual([b * 4, p * p * c]);
    const rows = patches.arraySync();
    // patch index 3 of image 1 is patch row 1, column 1; element (py=1, px=0, c=2)
    expect(rows[4 + 3][(1 * p + 0) * c + 2]).toBeCloseTo(pixels[1][2 + 1][2 + 0][2], 6);
    expectFiniteDifference((x) => extractPatches(x as tf.Tensor4D, p), [images], 2);
    expectNoLeak(() => tf.dispose(cotangentGrads((x) => extractPatches(x as tf.Tensor4D, p), [images], 3)));
    expect(() => extractPatches(images as tf.Tensor4D, 3)).toThrow(ShapeError);
    tf.dispose([images, patches]);
  });

  it('roll shifts circularly like numpy.roll and its gradient rolls back', () => {
    const images = randn([2, 5, 4, 3], 1);
    const x = images.arraySync() as number[][][][];
    const out = roll(images as tf.Tensor4D, 2, -1).arraySync() as number[][][][];
    const wrap = (i: number, n: number) => ((i % n) + n) % n;
    for (const [y, xx] of [
      [0, 0],
      [4, 3],
      [1, 2],
    ]) {
      expect(out[1][y][xx][2]).toBeCloseTo(x[1][wrap(y - 2, 5)][wrap(xx + 1, 4)][2], 6);
    }
    expectSameAsReference(
      (t) => roll(t as tf.Tensor4D, 7, 1),
      (t) => roll(t as tf.Tensor4D, 2, 5),
      [images],
    );
    const [grad] = cotangentGrads((t) => roll(t as tf.Tensor4D, 2, -1), [images], 3);
    tf.tidy(() => expectAllClose([grad], [roll(randn([2, 5, 4, 3], 3) as tf.Tensor4D, -2, 1)]));
    expectNoLeak(() => tf.dispose(cotangentGrads((t) => roll(t as tf.Tensor4D, 2, -1), [images], 3)));
    tf.dispose([images, grad]);
  });
});
