import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors';
import { attention, layerNorm, linear, loraLinear } from '../../src/ops';
import { cotangentGrads, expectAllClose, expectFiniteDifference, expectNoLeak, randn } from './helpers';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

/** Kernel names run by the gradient of Σ f(x) w.r.t. `sources` only (the other inputs frozen). */
async function gradientKernels(f: () => tf.Tensor, sources: tf.Variable[]): Promise<string[]> {
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => tf.sum(f()) as tf.Scalar, sources);
    tf.dispose([value, ...Object.values(grads)]);
  });
  return profile.kernels.map((k) => k.name);
}

/** Kernel names run by f alone (on the native backend a stock fused product shows its inner BatchMatMul). */
async function forwardKernels(f: () => tf.Tensor): Promise<string[]> {
  const profile = await tf.profile(() => tf.dispose(f()));
  return profile.kernels.map((k) => k.name);
}

const count = (names: string[], name: string) => names.filter((n) => n === name).length;
/** Matrix products: forward ones, and the transposed ones gradients run (stock BatchMatMul on the native backend). */
const products = (names: string[]) =>
  count(names, 'LoraRecycleMatMul2d') + count(names, 'LoraRecycleMatMulT') + count(names, 'BatchMatMul');

describe('fused ops on the backend under test (wasm unless a pass names another)', () => {
  it('loraLinear equals x·W + b + s·(x·A)·B in value and in the gradient of every input', () => {
    const inputs = [randn([7, 5], 1), randn([5, 6], 2), randn([6], 3), randn([5, 2], 4), randn([2, 6], 5)];
    for (const scale of [1, 0.5]) {
      const fused = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, a: tf.Tensor, bb: tf.Tensor) =>
        loraLinear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D, a as tf.Tensor2D, bb as tf.Tensor2D, scale);
      const reference = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, a: tf.Tensor, bb: tf.Tensor) =>
        tf.add(
          tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b),
          tf.mul(tf.matMul(tf.matMul(x as tf.Tensor2D, a as tf.Tensor2D), bb as tf.Tensor2D), scale),
        );
      tf.tidy(() => {
        expectAllClose(
          [fused(...(inputs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]))],
          [reference(...(inputs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]))],
          1e-5,
        );
        expectAllClose(cotangentGrads(fused as never, inputs, 7), cotangentGrads(reference as never, inputs, 7), 1e-5);
      });
      expectFiniteDifference(fused as never, inputs, 8);
    }
    const noBias = (x: tf.Tensor, w: tf.Tensor, a: tf.Tensor, bb: tf.Tensor) =>
      loraLinear(x as tf.Tensor2D, w as tf.Tensor2D, undefined, a as tf.Tensor2D, bb as tf.Tensor2D, 1);
    const noBiasReference = (x: tf.Tensor, w: tf.Tensor, a: tf.Tensor, bb: tf.Tensor) =>
      tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), tf.matMul(tf.matMul(x as tf.Tensor2D, a as tf.Tensor2D), bb as tf.Tensor2D));
    const withoutBias = [inputs[0], inputs[1], inputs[3], inputs[4]];
    tf.tidy(() =>
      expectAllClose(cotangentGrads(noBias as never, withoutBias, 9), cotangentGrads(noBiasReference as never, withoutBias, 9), 1e-5),
    );
    expectNoLeak(() => tf.dispose(cotangentGrads(noBias as never, withoutBias, 10)));
    expect(() =>
      loraLinear(inputs[0] as tf.Tensor2D, inputs[1] as tf.Tensor2D, undefined, inputs[4] as tf.Tensor2D, inputs[4] as tf.Tensor2D, 1),
    ).toThrow(ShapeError);
    tf.dispose(inputs);
  });

  it('loraLinear with frozen W and bias runs one product forward and only low-rank products for dA, dB', async () => {
    const [x, w, bias] = [randn([9, 5], 1), randn([5, 6], 2), randn([6], 3)];
    const a = tf.variable(randn([5, 2], 4));
    const b = tf.variable(randn([2, 6], 5));
    const f = () => loraLinear(x as tf.Tensor2D, w as tf.Tensor2D, bias as tf.Tensor1D, a as tf.Tensor2D, b as tf.Tensor2D, 1);
    const names = await gradientKernels(f, [a, b]);
    expect(count(names, 'LoraRecycleLoraLinear')).toBe(1);
    // dA = xᵀ·(dy·Bᵀ): 2 products, dB = (x·A)ᵀ·dy: 2 products; none for dx, dW (frozen, x a constant)
    expect(products(names) - products(await forwardKernels(f))).toBe(4);
    expect(count(names, 'Sum')).toBe(1); // Σ of the loss only: no bias gradient
    tf.dispose([x, w, bias, a, b]);
  });

  it('linear with a frozen bias computes neither the bias nor the weight gradient', async () => {
    const x = tf.variable(randn([6, 4], 1));
    const [w, bias] = [randn([4, 5], 2), randn([5], 3)];
    const f = () => linear(x as tf.Tensor2D, w as tf.Tensor2D, bias as tf.Tensor1D);
    const names = await gradientKernels(f, [x]);
    expect(count(names, 'LoraRecycleLinear')).toBe(1);
    expect(products(names) - products(await forwardKernels(f))).toBe(1); // dX only
    expect(count(names, 'Sum')).toBe(1); // the loss
    tf.dispose([x, w, bias]);
  });

  it('layerNorm with frozen gamma and beta computes no gradient for them', async () => {
    const x = tf.variable(randn([5, 8], 1));
    const [gamma, beta] = [randn([8], 2), randn([8], 3)];
    const names = await gradientKernels(() => layerNorm(x as tf.Tensor2D, gamma as tf.Tensor1D, beta as tf.Tensor1D, 1e-5), [x]);
    expect(count(names, 'Sum')).toBe(1); // the loss; Σ dy·x̂ and Σ dy are skipped
    tf.dispose([x, gamma, beta]);
  });

  it('attention with fewer queries (queryTokens) equals those rows of full attention, in value and gradients', () => {
    const [b, t, h, d] = [2, 5, 3, 12];
    const [q, k, v] = [randn([b * t, d], 1), randn([b * t, d], 2), randn([b * t, d], 3)];
    const firstRows = (x: tf.Tensor) => tf.reshape(tf.slice(tf.reshape(x, [b, t, d]), [0, 0, 0], [b, 1, d]), [b, d]);
    const qCls = tf.tidy(() => firstRows(q));
    const clsOnly = (qc: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) =>
      attention(qc as tf.Tensor2D, kk as tf.Tensor2D, vv as tf.Tensor2D, { batch: b, tokens: t, heads: h, queryTokens: 1 }).output;
    // full attention with the other queries set to anything: only the [CLS] rows are compared
    const full = (qc: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) => {
      const queries = tf.concat([tf.reshape(qc, [b, 1, d]), tf.slice(tf.reshape(q, [b, t, d]), [0, 1, 0], [b, t - 1, d])], 1);
      return firstRows(
        attention(tf.reshape(queries, [b * t, d]) as tf.Tensor2D, kk as tf.Tensor2D, vv as tf.Tensor2D, { batch: b, tokens: t, heads: h })
          .output,
      );
    };
    const inputs = [qCls, k, v];
    tf.tidy(() => {
      expectAllClose([clsOnly(qCls, k, v)], [full(qCls, k, v)], 1e-5);
      expectAllClose(cotangentGrads(clsOnly, inputs, 4), cotangentGrads(full, inputs, 4), 1e-5);
      const { weights } = attention(qCls as tf.Tensor2D, k as tf.Tensor2D, v as tf.Tensor2D, {
        batch: b,
        tokens: t,
        heads: h,
        queryTokens: 1,
        returnWeights: true,
      });
      expect(weights!.shape).toEqual([b, h, 1, t]);
    });
    expectFiniteDifference(clsOnly, inputs, 5);
    expectNoLeak(() => tf.dispose(cotangentGrads(clsOnly, inputs, 6)));
    expect(() =>
      attention(q as tf.Tensor2D, k as tf.Tensor2D, v as tf.Tensor2D, { batch: b, tokens: t, heads: h, queryTokens: 1 }),
    ).toThrow(/T_q/);
    tf.dispose([q, k, v, qCls]);
  });
});
