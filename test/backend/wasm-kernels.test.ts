import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initWasmBackend } from '../../src/backend/wasm';

beforeAll(async () => {
  await initWasmBackend();
});

describe('copy-free Identity kernel on wasm', () => {
  it('is registered and clones keep their values after the original is disposed', () => {
    expect((tf.getKernel('Identity', 'wasm') as { sharing?: boolean }).sharing).toBe(true);
    const before = tf.memory().numTensors;
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const y = tf.clone(x);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaves gradients (which clone saved tensors) correct and leak-free', () => {
    const w = tf.variable(tf.tensor1d([0.5, -1, 2]));
    const step = () => tf.tidy(() => tf.variableGrads(() => tf.sum(tf.square(tf.mul(w, 3))) as tf.Scalar).grads[w.name].dataSync());
    expect(Array.from(step())).toEqual([9, -18, 36]); // d/dw Σ (3w)² = 18w
    const live = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(live);
    w.dispose();
  });

  it('keeps string tensors working (stock path)', () => {
    const s = tf.tensor1d(['a', 'b'], 'string');
    const c = tf.clone(s);
    expect(c.arraySync()).toEqual(['a', 'b']);
    tf.dispose([s, c]);
  });
});
