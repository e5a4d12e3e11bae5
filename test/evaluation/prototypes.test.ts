import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, ConfigError, ShapeError } from '../../src/errors';
import {
  DISTANCE_EPSILON,
  episodeAccuracy,
  evaluateEpisodeSource,
  meanWithInterval,
  prototypeLogits,
  prototypes,
} from '../../src/evaluation';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i] - e), `index ${i}: ${actual[i]} vs ${e}`).toBeLessThan(tol));
}

describe('prototypes', () => {
  it('averages the support features of each class (hand-computed)', () => {
    const f = tf.tensor2d([
      [1, 2],
      [3, 6],
      [10, 0],
      [0, 0],
      [5, 5],
    ]);
    // class 0: rows 0,1 → (2,4); class 1: rows 2,3 → (5,0); class 2: row 4 → (5,5)
    const c = prototypes(f, [0, 0, 1, 1, 2], 3);
    expect(c.shape).toEqual([3, 2]);
    close(c.dataSync(), [2, 4, 5, 0, 5, 5]);
    tf.dispose([f, c]);
  });

  it('accepts labels as an int32 tensor in any order', () => {
    const f = tf.tensor2d([
      [1, 1],
      [4, 4],
      [3, 3],
    ]);
    const labels = tf.tensor1d([1, 0, 1], 'int32');
    const c = prototypes(f, labels, 2);
    close(c.dataSync(), [4, 4, 2, 2]);
    tf.dispose([f, labels, c]);
  });

  it('rejects labels out of range, empty classes and count mismatches', () => {
    const f = tf.zeros([2, 3]) as tf.Tensor2D;
    expect(() => prototypes(f, [0, 2], 2)).toThrow(ConfigError);
    expect(() => prototypes(f, [0, 0], 2)).toThrow(/class 1 has no support/);
    expect(() => prototypes(f, [0], 2)).toThrow(ShapeError);
    f.dispose();
  });
});

describe('prototypeLogits', () => {
  const query = [
    [0, 0],
    [3, 4],
  ];
  const protos = [
    [3, 4],
    [0, 1],
  ];

  it('is minus the Euclidean distance (hand-computed, with ε under the root)', () => {
    const q = tf.tensor2d(query);
    const c = tf.tensor2d(protos);
    const logits = prototypeLogits(q, c);
    // d(q0,c0)=5, d(q0,c1)=1, d(q1,c0)=0, d(q1,c1)=√(9+9)=√18
    close(logits.dataSync(), [-5, -1, -Math.sqrt(DISTANCE_EPSILON), -Math.sqrt(18)]);
    tf.dispose([q, c, logits]);
  });

  it('is minus the squared distance when asked', () => {
    const q = tf.tensor2d(query);
    const c = tf.tensor2d(protos);
    const logits = prototypeLogits(q, c, 'squaredEuclidean');
    close(logits.dataSync(), [-25, -1, 0, -18]);
    tf.dispose([q, c, logits]);
  });

  it('has finite gradients even when a query sits on a prototype', () => {
    const q = tf.tensor2d(query);
    const c = tf.tensor2d(protos);
    const [gq, gc] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(prototypeLogits(a as tf.Tensor2D, b as tf.Tensor2D)))([q, c]);
    for (const g of [gq, gc]) for (const v of g.dataSync()) expect(Number.isFinite(v)).toBe(true);
    // ∂(−d(q0,c1))/∂q0 = −(q0−c1)/d = (0,1); ∂(−d(q0,c0))/∂q0 = (3,4)/5 → sum (0.6, 1.8)
    close(gq.dataSync().slice(0, 2), [0.6, 1.8], 1e-4);
    tf.dispose([q, c, gq, gc]);
  });

  it('rejects mismatched feature sizes and unknown distances', () => {
    const q = tf.zeros([2, 3]) as tf.Tensor2D;
    const c = tf.zeros([2, 4]) as tf.Tensor2D;
    expect(() => prototypeLogits(q, c)).toThrow(ShapeError);
    expect(() => prototypeLogits(q, q, 'cosine' as never)).toThrow(ConfigError);
    tf.dispose([q, c]);
  });
});

describe('meanWithInterval', () => {
  it("gives mean ± Student's t interval (hand-computed)", () => {
    // values 0.25, 0.75, 0.5, 0.5: mean 0.5, deviations −0.25, 0.25, 0, 0 → sample variance 0.125 / 3, s = 0.2041241;
    // ci = t(0.975, 3) · s / √4 = 3.1824463 · 0.2041241 / 2 = 0.3248070
    const r = meanWithInterval([0.25, 0.75, 0.5, 0.5]);
    expect(r.mean).toBeCloseTo(0.5, 10);
    expect(r.ci95).toBeCloseTo(0.324807, 6);
    expect(r.n).toBe(4);
    expect(() => meanWithInterval([])).toThrow(ConfigError);
  });
});

describe('episodeAccuracy', () => {
  // Identity-like features: the mean pixel value of each channel.
  const featureFn = (images: tf.Tensor4D) => tf.mean(images, [1, 2]) as tf.Tensor2D;
  function constantImages(values: number[]): tf.Tensor4D {
    return tf.tidy(() => tf.mul(tf.ones([values.length, 2, 2, 3]), tf.tensor(values).reshape([-1, 1, 1, 1])) as tf.Tensor4D);
  }

  it('counts queries nearest to their own prototype, in chunks, without leaking tensors', () => {
    const support = constantImages([0, 1, 5]);
    const query = constantImages([0.1, 0.9, 4, 2.9]); // 2.9 is nearer to class 0 value 1 → wrong for label 2
    const episode = { support, supportLabels: [0, 1, 2], query, queryLabels: [0, 1, 2, 2] };
    const before = tf.memory().numTensors;
    expect(episodeAccuracy(featureFn, episode, { batchSize: 2 })).toBeCloseTo(0.75, 10);
    for (let i = 0; i < 5; i++) episodeAccuracy(featureFn, episode, { batchSize: 1 });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([support, query]);
  });
});

describe('evaluateEpisodeSource', () => {
  const featureFn = (images: tf.Tensor4D) => tf.mean(images, [1, 2]) as tf.Tensor2D;
  const source = {
    count: 3,
    // episode i: two classes with values 0 and 1; query values 0.2 and 0.6+0.2·i (i ≥ 0 → label 1 right when > 0.5)
    episode: (i: number) => ({
      support: tf.tidy(() => tf.concat([tf.zeros([1, 2, 2, 3]), tf.ones([1, 2, 2, 3])]) as tf.Tensor4D),
      supportLabels: [0, 1],
      query: tf.tidy(() => tf.concat([tf.fill([1, 2, 2, 3], 0.2), tf.fill([1, 2, 2, 3], i === 0 ? 0.4 : 0.8)]) as tf.Tensor4D),
      queryLabels: [0, 1],
    }),
  };

  it("returns per-episode accuracies with mean ± Student's t interval, disposes episodes and reports progress", async () => {
    const before = tf.memory().numTensors;
    const steps: number[] = [];
    const result = await evaluateEpisodeSource(featureFn, source, {
      onEvent: (e) => {
        if (e.kind === 'step') steps.push(e.step);
      },
    });
    expect(result.accuracies).toEqual([0.5, 1, 1]);
    expect(result.episodes).toBe(3);
    expect(result.mean).toBeCloseTo(2.5 / 3, 10);
    // sample s over 3 episodes; t(0.975, 2) = 0.95 · √(2 / 0.0975) = 4.3026527 (closed form for 2 degrees of freedom)
    const s = Math.sqrt(((0.5 - 2.5 / 3) ** 2 + 2 * (1 - 2.5 / 3) ** 2) / 2);
    expect(result.ci95).toBeCloseTo((0.95 * Math.sqrt(2 / 0.0975) * s) / Math.sqrt(3), 10);
    expect(steps).toEqual([1, 2, 3]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops with CancelledError when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(evaluateEpisodeSource(featureFn, source, { signal: controller.signal })).rejects.toThrow(CancelledError);
  });
});
