import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors';
import { SeededRandom } from '../../src/random/seeded-random';
import { augmentShapes, checkShapeAugment, DEFAULT_SHAPE_AUGMENT, type ShapeAugmentOptions } from '../../src/training/shape-augment';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

const off: ShapeAugmentOptions = { maxShift: 0, scale: [1, 1], maxShear: 0, maxRotation: 0, maxStroke: 0 };

/** A black bar on white: rows 3..4, columns 2..9 of a 12×12 image, in every channel. */
function bar(): tf.Tensor4D {
  const pixels = new Float32Array(12 * 12 * 3).fill(1);
  for (let y = 3; y <= 4; y++) for (let x = 2; x <= 9; x++) for (let c = 0; c < 3; c++) pixels[(y * 12 + x) * 3 + c] = 0;
  return tf.tensor4d(pixels, [1, 12, 12, 3]);
}

const ink = (x: tf.Tensor4D) => tf.tidy(() => tf.sum(tf.sub(1, x)).dataSync()[0]);

describe('augmentShapes', () => {
  it('is the identity with every change off', () => {
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = augmentShapes(x, new SeededRandom(1), off);
    expect(tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([x, y]);
  });

  it('moves the ink by a shift and fills the uncovered edge with white', () => {
    const x = bar();
    // the largest shift, drawn until one moves the bar down by at least one pixel
    const shifted = augmentShapes(x, new SeededRandom(3), { ...off, maxShift: 0.3 });
    const rowsWithInk = (t: tf.Tensor4D) =>
      Array.from(tf.tidy(() => tf.min(t, [0, 2, 3]).dataSync())).flatMap((v, row) => (v < 0.5 ? [row] : []));
    expect(rowsWithInk(x)).toEqual([3, 4]);
    expect(rowsWithInk(shifted)).not.toEqual([3, 4]);
    expect(ink(shifted)).toBeGreaterThan(0.5 * ink(x)); // moved, not erased
    expect(Math.min(...tf.min(shifted).dataSync())).toBeGreaterThanOrEqual(0);
    expect(Math.max(...tf.max(shifted).dataSync())).toBeLessThanOrEqual(1);
    tf.dispose([x, shifted]);
  });

  it('thickens the ink for a positive stroke draw and thins it for a negative one', () => {
    const x = bar();
    const outcomes = Array.from({ length: 12 }, (_, seed) => {
      const y = augmentShapes(x, new SeededRandom(seed), { ...off, maxStroke: 1 });
      const change = ink(y) - ink(x);
      y.dispose();
      return change;
    });
    expect(outcomes.some((c) => c > 1)).toBe(true); // thicker
    expect(outcomes.some((c) => c < -1)).toBe(true); // thinner
    tf.dispose(x);
  });

  it('keeps a white image white, is deterministic given the seed, and leaks no tensors', () => {
    const white = tf.ones([3, 10, 10, 3]) as tf.Tensor4D;
    const whiteOut = augmentShapes(white, new SeededRandom(2));
    expect(tf.min(whiteOut).dataSync()[0]).toBeCloseTo(1, 6);
    const x = tf.randomUniform([4, 10, 10, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const a = augmentShapes(x, new SeededRandom(7), DEFAULT_SHAPE_AUGMENT);
      const b = augmentShapes(x, new SeededRandom(7), DEFAULT_SHAPE_AUGMENT);
      const c = augmentShapes(x, new SeededRandom(8), DEFAULT_SHAPE_AUGMENT);
      expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, c))).dataSync()[0])).toBeGreaterThan(1e-3);
      tf.dispose([a, b, c]);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([white, whiteOut, x]);
  });
});

describe('checkShapeAugment', () => {
  it('accepts the defaults and names the field out of range', () => {
    expect(checkShapeAugment(DEFAULT_SHAPE_AUGMENT, 'zoo.augment')).toBe(DEFAULT_SHAPE_AUGMENT);
    expect(() => checkShapeAugment({ ...DEFAULT_SHAPE_AUGMENT, maxShift: 0.7 }, 'zoo.augment')).toThrow(/zoo\.augment\.maxShift/);
    expect(() => checkShapeAugment({ ...DEFAULT_SHAPE_AUGMENT, scale: [1.2, 0.9] }, 'zoo.augment')).toThrow(ConfigError);
    expect(() => checkShapeAugment({ ...DEFAULT_SHAPE_AUGMENT, maxStroke: -0.1 }, 'zoo.augment')).toThrow(/maxStroke/);
  });
});
