/**
 * Cases for the compiled kernels (src/ops/wasm): each op on sizes that use every thread and every
 * tail of the micro-kernel (rows not a multiple of 4, columns not a multiple of 8 or 4), compared
 * in value and in the gradient of every input with the same op on stock kernels
 * (LORA_RECYCLE_FUSED_KERNELS=0), which test/ops/ops.test.ts checks against textbook formulas.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { attention, layerNorm, linear, loraLinear, matMul2d, quickGelu } from '../../src/ops';
import { fusedKernelsActive, SMALL_WORK } from '../../src/ops/wasm/runtime';
import { cotangentGrads, expectAllClose, expectNoLeak, randn } from './helpers';

export interface KernelCase {
  name: string;
  inputs: () => tf.Tensor[];
  f: (...x: tf.Tensor[]) => tf.Tensor;
  work: number; // ≈ flops of the forward, to show which cases are threaded
}

const [B, T, H, E] = [6, 65, 3, 20]; // attention: B·H·T·T·E·4 ≈ 6 M flops, threaded

export const KERNEL_CASES: KernelCase[] = [
  {
    name: 'matMul2d',
    inputs: () => [randn([301, 203], 1), randn([203, 97], 2)],
    f: (a, b) => matMul2d(a as tf.Tensor2D, b as tf.Tensor2D),
    work: 2 * 301 * 203 * 97,
  },
  {
    name: 'linear with bias',
    inputs: () => [randn([301, 203], 3), randn([203, 98], 4), randn([98], 5)],
    f: (x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
    work: 2 * 301 * 203 * 98,
  },
  {
    name: 'loraLinear',
    inputs: () => [randn([301, 203], 6), randn([203, 99], 7), randn([99], 8), randn([203, 4], 9), randn([4, 99], 10)],
    f: (x, w, b, a, bb) => loraLinear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D, a as tf.Tensor2D, bb as tf.Tensor2D, 0.5),
    work: 2 * 301 * 203 * 99,
  },
  {
    name: 'layerNorm (trainable gain and bias)',
    inputs: () => [randn([4001, 203], 11), randn([203], 12), randn([203], 13)],
    f: (x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5),
    work: 10 * 4001 * 203,
  },
  { name: 'quickGelu (odd size)', inputs: () => [tf.mul(randn([1001, 203], 14), 4)], f: (x) => quickGelu(x), work: 20 * 1001 * 203 },
  {
    name: 'attention, output and weights',
    inputs: () => [randn([B * T, H * E], 15), randn([B * T, H * E], 16), randn([B * T, H * E], 17)],
    f: (q, k, v) => {
      const { output, weights } = attention(q as tf.Tensor2D, k as tf.Tensor2D, v as tf.Tensor2D, {
        batch: B,
        tokens: T,
        heads: H,
        returnWeights: true,
      });
      return tf.concat([tf.reshape(output, [-1]), tf.reshape(weights as tf.Tensor, [-1])]); // the gradient flows through both
    },
    work: 4 * B * H * T * T * E,
  },
  {
    name: 'attention, [CLS] queries only',
    inputs: () => [randn([B, H * E], 18), randn([B * T, H * E], 19), randn([B * T, H * E], 20)],
    f: (q, k, v) =>
      attention(q as tf.Tensor2D, k as tf.Tensor2D, v as tf.Tensor2D, { batch: B, tokens: T, heads: H, queryTokens: 1 }).output,
    work: 4 * B * H * T * E,
  },
];

/** Runs `f` with the compiled kernels turned off. */
export function onStockKernels<T>(f: () => T): T {
  const saved = process.env.LORA_RECYCLE_FUSED_KERNELS;
  process.env.LORA_RECYCLE_FUSED_KERNELS = '0';
  try {
    return f();
  } finally {
    if (saved === undefined) delete process.env.LORA_RECYCLE_FUSED_KERNELS;
    else process.env.LORA_RECYCLE_FUSED_KERNELS = saved;
  }
}

/** The case's value and gradients agree on compiled and stock kernels, and repeated calls leak nothing. */
export function expectCompiledMatchesStock(c: KernelCase): void {
  expect(fusedKernelsActive(), 'compiled kernels not active: run `npm run build:wasm` (needs clang and lld)').toBe(true);
  const inputs = c.inputs();
  tf.tidy(() => {
    const compiled = [c.f(...inputs), ...cotangentGrads(c.f, inputs, 21)];
    const stock = onStockKernels(() => [c.f(...inputs), ...cotangentGrads(c.f, inputs, 21)]);
    expectAllClose(compiled, stock, 2e-5);
  });
  expectNoLeak(() => tf.dispose(cotangentGrads(c.f, inputs, 22)));
  tf.dispose(inputs);
}

export { SMALL_WORK };
