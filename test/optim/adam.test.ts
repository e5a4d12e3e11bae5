import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, DEFAULT_ADAMW } from '../../src/optim/adam';
import { CompatibilityError } from '../../src/errors';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('cpu');
});

describe('Adam', () => {
  it('takes the hand-computed first two steps', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const adam = new Adam([w]);
    adam.apply([tf.tensor1d([0.5, -1])], 0.1);
    // first step: m̂ = g, v̂ = g², update = g/|g| ≈ sign(g)
    expect(Array.from(w.dataSync())).toEqual([expect.closeTo(0.9, 6), expect.closeTo(-1.9, 6)]);
    adam.apply([tf.tensor1d([0.5, 1])], 0.1);
    const m = [0.9 * 0.05 + 0.05, 0.9 * -0.1 + 0.1];
    const v = [0.999 * 0.00025 + 0.00025, 0.999 * 0.001 + 0.001];
    const expected = [0.9, -1.9].map((x, i) => x - (0.1 * (m[i] / (1 - 0.81))) / (Math.sqrt(v[i] / (1 - 0.999 ** 2)) + 1e-8));
    expect(w.dataSync()[0]).toBeCloseTo(expected[0], 6);
    expect(w.dataSync()[1]).toBeCloseTo(expected[1], 6);
  });

  it('continues identically after its moments are restored into a fresh optimiser', () => {
    const grads = [
      [0.3, -0.2],
      [0.1, 0.4],
      [-0.5, 0.2],
    ].map((g) => tf.tensor1d(g));
    const a = tf.variable(tf.tensor1d([1, 1]));
    const straight = new Adam([a]);
    grads.forEach((g) => straight.apply([g], 0.01));
    const b = tf.variable(tf.tensor1d([1, 1]));
    const first = new Adam([b]);
    first.apply([grads[0]], 0.01);
    const saved = first.moments();
    const resumed = new Adam([b]);
    resumed.restore(saved);
    resumed.apply([grads[1]], 0.01);
    resumed.apply([grads[2]], 0.01);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
  });

  it('rejects moments of another size', () => {
    const adam = new Adam([tf.variable(tf.zeros([3]))]);
    expect(() => adam.restore({ step: 1, first: [new Float32Array(2)], second: [new Float32Array(2)] })).toThrow(CompatibilityError);
  });

  it('leaves the tensor count flat across steps', () => {
    const w = tf.variable(tf.zeros([4]));
    const adam = new Adam([w]);
    const g = tf.ones([4]);
    adam.apply([g], 0.1);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) adam.apply([g], 0.1);
    expect(tf.memory().numTensors).toBe(before);
  });
  it('with weight decay (AdamW) shrinks matrices by lr·λ before the step and leaves vectors undecayed', () => {
    const kernel = tf.variable(tf.tensor2d([[1, -2]]));
    const bias = tf.variable(tf.tensor1d([1, -2]));
    const adamw = new Adam({ kernel, bias }, { weightDecay: 0.5 });
    adamw.apply({ kernel: tf.tensor2d([[0.5, -1]]), bias: tf.tensor1d([0.5, -1]) }, 0.1);
    // first step: update ≈ sign(g); decay multiplies by 1 − 0.1·0.5 first
    expect(Array.from(kernel.dataSync())).toEqual([expect.closeTo(0.95 - 0.1, 6), expect.closeTo(-1.9 + 0.1, 6)]);
    expect(Array.from(bias.dataSync())).toEqual([expect.closeTo(0.9, 6), expect.closeTo(-1.9, 6)]);
  });

  it('updates only the named variables it is given gradients for, and names its moments adam.m.<name> / adam.v.<name>', () => {
    const a = tf.variable(tf.tensor1d([1, 1]));
    const b = tf.variable(tf.tensor1d([1, 1]));
    const adam = new Adam({ a, b }, DEFAULT_ADAMW);
    adam.apply({ a: tf.tensor1d([1, -1]) }, 0.1);
    expect(Array.from(b.dataSync())).toEqual([1, 1]);
    expect(a.dataSync()[0]).toBeCloseTo(0.9, 6);
    expect(Object.keys(adam.state())).toEqual(['adam.m.a', 'adam.m.b', 'adam.v.a', 'adam.v.b']);
    expect(adam.state()['adam.m.a'].dataSync()[0]).toBeCloseTo(0.1, 6);
    expect(adam.step).toBe(1);
  });
});
