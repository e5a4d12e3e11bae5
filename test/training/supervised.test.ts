import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_AUGMENT,
  DEFAULT_SUPERVISED,
  type LabelledImages,
  type TrainableClassifier,
  classifierAccuracy,
  trainSupervised,
} from '../../src/training';
import { CancelledError } from '../../src/errors';
import { useTestBackend } from '../test-backend';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'supervised-'));

beforeAll(async () => {
  await useTestBackend('wasm');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Two classes of 4×4 images: bright on the left half, or on the right half, with noise. */
function toyData(size: number): LabelledImages {
  const labels = Array.from({ length: size }, (_, i) => i % 2);
  const pixels = tf.tidy(() => {
    const left = tf.concat([tf.ones([1, 4, 2, 3]), tf.zeros([1, 4, 2, 3])], 2);
    const right = tf.reverse(left, 2);
    const clean = tf.concat(
      labels.map((l) => (l === 0 ? left : right)),
      0,
    );
    return tf.keep(tf.clipByValue(tf.add(tf.mul(clean, 0.6), tf.randomUniform(clean.shape, 0, 0.4, 'float32', 1)), 0, 1)) as tf.Tensor4D;
  });
  return {
    size,
    classes: 2,
    pixels: (indices) => tf.tidy(() => tf.gather(pixels, tf.tensor1d([...indices], 'int32'))),
    labels: (indices) => indices.map((i) => labels[i]),
  };
}

function toyModel(seed: number): TrainableClassifier {
  const kernel = tf.variable(tf.randomNormal([48, 2], 0, 0.1, 'float32', seed), true);
  const bias = tf.variable(tf.zeros([2]), true);
  return {
    parameters: { kernel, bias },
    logits: (images) => tf.add(tf.matMul(tf.reshape(images, [images.shape[0], -1]), kernel), bias) as tf.Tensor2D,
  };
}

// flips would swap the two toy classes, so augmentation here only shifts and jitters
const options = {
  ...DEFAULT_SUPERVISED,
  augment: { ...DEFAULT_AUGMENT, flip: false },
  run: 'toy',
  epochs: 3,
  batchSize: 8,
  peakLearningRate: 0.05,
  normalize: (p: tf.Tensor4D) => p,
  checkpointEvery: 4,
};

describe('trainSupervised', () => {
  it('learns a separable toy task and keeps the tensor count flat across steps', async () => {
    const data = toyData(32);
    const model = toyModel(1);
    const counts: number[] = [];
    const result = await trainSupervised(model, data, {
      ...options,
      onEvent: (e) => {
        if (e.kind === 'step') counts.push(tf.memory().numTensors);
      },
    });
    expect(result.steps).toBe(12);
    expect(result.lossHistory[11]).toBeLessThan(result.lossHistory[0]);
    expect(classifierAccuracy(model, data, [...Array(32).keys()], (p) => p)).toBe(1);
    expect(new Set(counts.slice(1)).size).toBe(1); // same count after every step
  });

  it('resumes after a cancellation and ends exactly where the uninterrupted run ends', async () => {
    const data = toyData(32);
    const straight = toyModel(2);
    await trainSupervised(straight, data, options);
    const file = path.join(dir, 'toy.ckpt.safetensors');
    const interrupted = toyModel(2);
    const controller = new AbortController();
    const stopAt5 = (e: { kind: string; step?: number }) => {
      if (e.kind === 'step' && e.step === 5) controller.abort();
    };
    await expect(
      trainSupervised(interrupted, data, { ...options, checkpointPath: file, signal: controller.signal, onEvent: stopAt5 }),
    ).rejects.toThrow(CancelledError);
    expect(fs.existsSync(file)).toBe(true);
    const resumed = toyModel(99); // different init: everything must come from the checkpoint
    const result = await trainSupervised(resumed, data, { ...options, checkpointPath: file });
    expect(result.steps).toBe(7);
    const a = straight.parameters.kernel.dataSync();
    const b = resumed.parameters.kernel.dataSync();
    expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-6);
  });
});
