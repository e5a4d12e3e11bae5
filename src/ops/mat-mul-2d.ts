import * as tf from '@tensorflow/tfjs';
import { compositeKernel, kernelWithoutGradient, runStock, type TensorInfo } from './composite-kernel';
import { batchedMatMulIsFast } from './matmul-attention';
import { expectRank, expectSize } from './shapes';
import { wasmProduct } from './wasm/product';
import { fusedKernelsActive } from './wasm/runtime';

/**
 * a·b for 2-D matrices. On wasm/cpu the product is kernels.c's `matmul` (multi-threaded, in the
 * tfjs heap); elsewhere the stock 2-D matMul. The gradient dA = dY·bᵀ, dB = aᵀ·dY uses
 * `transposedProduct`, never tfjs' own transpose-flag path (slow on wasm; on the native backend it
 * is the fast one), and each is computed only when that input needs a gradient.
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  expectRank(a, 2, 'matMul2d: a');
  expectRank(b, 2, 'matMul2d: b');
  expectSize(b.shape[0], a.shape[1], `matMul2d: rows of b (a is [${a.shape}])`);
  return plainMatMul({ a, b }, {}) as tf.Tensor2D;
}

const PLAIN = { transposeA: false, transposeB: false };

const plainMatMul = compositeKernel(
  'LoraRecycleMatMul2d',
  ({ a, b }, backend) =>
    fusedKernelsActive()
      ? wasmProduct(backend, a, b, undefined, false, false, [a.shape[0], b.shape[1]])
      : runStock('BatchMatMul', backend, { a, b }, PLAIN),
  ['a', 'b'],
  (dy, [a, b]) => ({
    a: () => transposedProduct(dy as tf.Tensor2D, b as tf.Tensor2D, false, true), // [M, K]
    b: () => transposedProduct(a as tf.Tensor2D, dy as tf.Tensor2D, true, false), // [K, N]
  }),
);

/** op(a)·op(b) for 2-D a, b, op(x) = xᵀ when flagged; not differentiable (gradients use it). */
export function transposedProduct(a: tf.Tensor2D, b: tf.Tensor2D, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  if (batchedMatMulIsFast()) return tf.matMul(a, b, transposeA, transposeB); // TensorFlow's MatMul reads the flags without copying
  if (!fusedKernelsActive()) {
    return tf.tidy(() => matMul2d(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b));
  }
  return flaggedProduct({ a, b }, { transposeA, transposeB }) as tf.Tensor2D;
}

const flaggedProduct = kernelWithoutGradient('LoraRecycleMatMulT', ({ a, b }: Record<string, TensorInfo>, backend, attrs) => {
  const [transposeA, transposeB] = [Boolean(attrs.transposeA), Boolean(attrs.transposeB)];
  const shape = [transposeA ? a.shape[1] : a.shape[0], transposeB ? b.shape[0] : b.shape[1]];
  return wasmProduct(backend, a, b, undefined, transposeA, transposeB, shape);
});
