import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

/** Deterministic normal tensor (seeded), float32. */
export function randn(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** Gradients of Σ f(inputs)·r w.r.t. every input, for a fixed random cotangent r. */
export function cotangentGrads(f: (...x: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], seed: number): tf.Tensor[] {
  return tf.tidy(() => {
    const r = tf.keep(randn(tf.tidy(() => f(...inputs)).shape, seed));
    const grads = tf.grads((...x: tf.Tensor[]) => tf.sum(tf.mul(f(...x), r)))(inputs);
    r.dispose();
    return grads;
  });
}

/** Expects both lists of tensors to agree elementwise within `tol` (relative to the largest magnitude). */
export function expectAllClose(actual: tf.Tensor[], expected: tf.Tensor[], tol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    expect(a.shape).toEqual(expected[i].shape);
    const x = a.dataSync();
    const y = expected[i].dataSync();
    let scale = 1e-6;
    for (let j = 0; j < y.length; j++) scale = Math.max(scale, Math.abs(y[j]));
    let worst = 0;
    for (let j = 0; j < y.length; j++) worst = Math.max(worst, Math.abs(x[j] - y[j]));
    expect(worst / scale, `input ${i}: max abs error ${worst} vs scale ${scale}`).toBeLessThan(tol);
  });
}

/**
 * Central finite difference of L = Σ f(inputs)·r along a random direction u, compared with ⟨∇L, u⟩.
 * float32 arithmetic, so the tolerance is loose; it catches wrong formulas, not rounding.
 */
export function expectFiniteDifference(f: (...x: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], seed: number): void {
  const grads = cotangentGrads(f, inputs, seed);
  tf.tidy(() => {
    const r = randn(f(...inputs).shape, seed);
    const loss = (xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), r)).dataSync()[0];
    const dirs = inputs.map((x, i) => randn(x.shape, seed + 100 + i));
    const eps = 1e-2;
    const plus = loss(inputs.map((x, i) => tf.add(x, tf.mul(dirs[i], eps))));
    const minus = loss(inputs.map((x, i) => tf.sub(x, tf.mul(dirs[i], eps))));
    const numeric = (plus - minus) / (2 * eps);
    const analytic = grads.reduce((s, g, i) => s + tf.sum(tf.mul(g, dirs[i])).dataSync()[0], 0);
    expect(Math.abs(numeric - analytic)).toBeLessThan(2e-2 * Math.max(1, Math.abs(analytic)));
  });
  tf.dispose(grads);
}

/** Runs `step` several times and expects the live tensor count not to grow. */
export function expectNoLeak(step: () => void): void {
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  expect(tf.memory().numTensors).toBe(before);
}
