import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors';
import { denormalizeImages, normalizeImages } from '../../src/model/preprocess';
import { adversarialImages, checkAdversarial } from '../../src/training/adversarial';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

/** A fixed linear classifier over the flattened images: 3 classes. */
function linearClassifier(side: number): { logitsOf: (x: tf.Tensor4D) => tf.Tensor2D; weights: tf.Tensor2D } {
  const weights = tf.randomNormal([side * side * 3, 3], 0, 0.1, 'float32', 7) as tf.Tensor2D;
  return { logitsOf: (x) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), weights), weights };
}

const crossEntropy = (logitsOf: (x: tf.Tensor4D) => tf.Tensor2D, x: tf.Tensor4D, labels: number[]) =>
  tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), 3), logitsOf(x)).dataSync()[0]);

describe('adversarialImages', () => {
  it('raises the loss, moves each image by at most ε in pixel space, keeps pixels valid, and leaks no tensors', () => {
    const { logitsOf, weights } = linearClassifier(8);
    const pixels = tf.randomUniform([4, 8, 8, 3], 0.2, 0.8, 'float32', 3) as tf.Tensor4D;
    const images = normalizeImages(pixels);
    const labels = [0, 1, 2, 0];
    const before = tf.memory().numTensors;
    const adversarial = adversarialImages(logitsOf, images, labels, { epsilon: 0.5, steps: 3 });
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(crossEntropy(logitsOf, adversarial, labels)).toBeGreaterThan(crossEntropy(logitsOf, images, labels) + 0.01);
    const moved = tf.tidy(() => denormalizeImages(adversarial));
    const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(tf.sub(moved, pixels)), [1, 2, 3])).dataSync());
    for (const norm of norms) {
      expect(norm).toBeLessThanOrEqual(0.5 + 1e-4);
      expect(norm).toBeGreaterThan(0.4); // the ascent used its budget (no pixel reaches 0 or 1 here)
    }
    expect(tf.min(moved).dataSync()[0]).toBeGreaterThanOrEqual(-1e-6);
    expect(tf.max(moved).dataSync()[0]).toBeLessThanOrEqual(1 + 1e-6);
    tf.dispose([pixels, images, adversarial, moved, weights]);
  });

  it('is deterministic', () => {
    const { logitsOf, weights } = linearClassifier(6);
    const images = normalizeImages(tf.randomUniform([2, 6, 6, 3], 0, 1, 'float32', 5) as tf.Tensor4D);
    const a = adversarialImages(logitsOf, images, [1, 2], { epsilon: 1, steps: 2 });
    const b = adversarialImages(logitsOf, images, [1, 2], { epsilon: 1, steps: 2 });
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    tf.dispose([images, a, b, weights]);
  });
});

describe('checkAdversarial', () => {
  it('keeps valid options and names what is wrong in the others', () => {
    expect(checkAdversarial({ epsilon: 1, steps: 3 }, 'zoo.adversarial')).toEqual({ epsilon: 1, steps: 3 });
    expect(() => checkAdversarial({ epsilon: 0, steps: 3 }, 'zoo.adversarial')).toThrow(
      /zoo\.adversarial\.epsilon must be a finite number > 0/,
    );
    expect(() => checkAdversarial({ epsilon: 1, steps: 0 }, 'zoo.adversarial')).toThrow(
      /zoo\.adversarial\.steps must be an integer in 1\.\.20/,
    );
    expect(() => checkAdversarial({ epsilon: 1, steps: 2.5 }, 'x')).toThrow(ConfigError);
    expect(() => checkAdversarial({ epsilon: 1, steps: 2, radius: 3 } as never, 'x')).toThrow(/unknown fields: radius/);
  });
});
