import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors';
import { PriorCnn, type PriorCnnConfig, bnPriorLoss, conv3x3 } from '../../src/prior';
import { useTestBackend } from '../test-backend';

const SMALL: PriorCnnConfig = { imageSize: 8, channels: 3, widths: [4, 6], classes: 3, batchNormEps: 1e-5 };

let backend: string;

beforeAll(async () => {
  backend = await useTestBackend('wasm');
});

/** Sets each layer's running statistics to the batch statistics of `x`, layer by layer. */
function matchRunningStatistics(prior: PriorCnn, x: tf.Tensor4D): void {
  prior.weights.blocks.forEach((block, i) => {
    const [mean, variance] = tf.tidy(() => {
      const s = prior.batchNormStatistics(x)[i];
      return [tf.keep(s.mean.clone()), tf.keep(s.variance.clone())];
    });
    tf.dispose([block.batchNorm.runningMean, block.batchNorm.runningVariance]);
    block.batchNorm.runningMean = mean as tf.Tensor1D;
    block.batchNorm.runningVariance = variance as tf.Tensor1D;
  });
}

describe('conv3x3', () => {
  it('matches tf.conv2d with same padding, in value and in gradients w.r.t. pixels and kernel', () => {
    const x = tf.randomNormal([2, 5, 5, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const k = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
    const ours = conv3x3(x, k);
    const stock = tf.conv2d(x, k, 1, 'same');
    expect(tf.max(tf.abs(tf.sub(ours, stock))).dataSync()[0]).toBeLessThan(1e-4);
    const r = tf.randomNormal(ours.shape, 0, 1, 'float32', 3);
    const [gx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(conv3x3(a as tf.Tensor4D, k), r)))([x]);
    const [gxStock] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, k, 1, 'same'), r)))([x]);
    expect(tf.max(tf.abs(tf.sub(gx, gxStock))).dataSync()[0]).toBeLessThan(1e-4);
    // kernel gradient against a finite difference along a random direction
    const u = tf.randomNormal(k.shape, 0, 1, 'float32', 4);
    const [gk] = tf.grads((b: tf.Tensor) => tf.sum(tf.mul(conv3x3(x, b as tf.Tensor4D), r)))([k]);
    const h = 1e-2;
    const f = (kk: tf.Tensor) => tf.sum(tf.mul(conv3x3(x, kk as tf.Tensor4D), r)).dataSync()[0];
    const numeric = (f(tf.add(k, tf.mul(u, h))) - f(tf.sub(k, tf.mul(u, h)))) / (2 * h);
    const analytic = tf.sum(tf.mul(gk, u)).dataSync()[0];
    expect(Math.abs(numeric - analytic) / Math.max(1, Math.abs(analytic))).toBeLessThan(1e-2);
  });
});

describe('PriorCnn and the BatchNorm prior', () => {
  it('computes per-layer batch statistics over N, H, W with biased variance', () => {
    const prior = PriorCnn.random({ ...SMALL, widths: [2] }, 5);
    const x = tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    tf.tidy(() => {
      const [s] = prior.batchNormStatistics(x);
      const z = tf.conv2d(x, prior.weights.blocks[0].kernel, 1, 'same').reshape([-1, 2]).arraySync() as number[][];
      for (let c = 0; c < 2; c++) {
        const col = z.map((row) => row[c]);
        const m = col.reduce((a, b) => a + b, 0) / col.length;
        const v = col.reduce((a, b) => a + (b - m) ** 2, 0) / col.length;
        expect(s.mean.dataSync()[c]).toBeCloseTo(m, 4);
        expect(s.variance.dataSync()[c]).toBeCloseTo(v, 3);
      }
    });
    tf.dispose(x);
    prior.dispose();
  });

  it('R_BN is ~0 when the batch statistics equal the running statistics, and positive otherwise', () => {
    const prior = PriorCnn.random(SMALL, 7);
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    const y = tf.randomNormal([4, 8, 8, 3], 2, 3, 'float32', 9) as tf.Tensor4D;
    matchRunningStatistics(prior, x);
    const atX = tf.tidy(() => bnPriorLoss(x, prior).dataSync()[0]);
    const atY = tf.tidy(() => bnPriorLoss(y, prior).dataSync()[0]);
    expect(atX).toBeLessThan(1e-4);
    expect(atY).toBeGreaterThan(0.5);
    tf.dispose([x, y]);
    prior.dispose();
  });

  it('R_BN has a finite, non-zero gradient w.r.t. the pixels on the backend under test, and leaks no tensors', () => {
    expect(tf.getBackend()).toBe(backend);
    const prior = PriorCnn.random(SMALL, 10);
    const x = tf.randomNormal([4, 8, 8, 3], 1, 2, 'float32', 11) as tf.Tensor4D;
    const step = () => tf.tidy(() => tf.grad((a: tf.Tensor) => bnPriorLoss(a as tf.Tensor4D, prior))(x));
    const g = step();
    const values = g.dataSync();
    expect(values.every(Number.isFinite)).toBe(true);
    expect(Math.max(...values.map(Math.abs))).toBeGreaterThan(0);
    g.dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step().dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    prior.dispose();
  });

  it('rejects images of the wrong size and weights of the wrong shape', () => {
    const prior = PriorCnn.random(SMALL, 12);
    const wrong = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    expect(() => prior.batchNormStatistics(wrong)).toThrow(ShapeError);
    expect(() => new PriorCnn({ ...SMALL, widths: [4, 7] }, prior.weights)).toThrow(/blocks.1.kernel/);
    wrong.dispose();
    prior.dispose();
  });
});
