import * as tf from '@tensorflow/tfjs';
import { compositeKernel, runStock } from './composite-kernel';
import { matMul2d, transposedProduct } from './mat-mul-2d';
import { expectRank, expectSize } from './shapes';
import { wasmProduct } from './wasm/product';
import { fusedKernelsActive } from './wasm/runtime';

/**
 * x·kernel + bias: x [M, in], kernel [in, out], bias [out] → [M, out].
 * With a bias, one fused product-and-bias kernel (kernels.c `matmul` on wasm/cpu, else the
 * stock _FusedMatMul: one kernel launch less than matMul2d + add), whose gradients are
 * computed like matMul2d's, only for the inputs that need them.
 */
export function linear(x: tf.Tensor2D, kernel: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  if (!bias) return matMul2d(x, kernel); // [M, out]
  expectRank(x, 2, 'linear: x');
  expectRank(kernel, 2, 'linear: kernel');
  expectRank(bias, 1, 'linear: bias');
  expectSize(kernel.shape[0], x.shape[1], `linear: rows of kernel (x is [${x.shape}])`);
  expectSize(bias.shape[0], kernel.shape[1], 'linear: bias length (columns of kernel)');
  const [m, n] = [x.shape[0], kernel.shape[1]];
  return tf.tidy(() => {
    // the stock kernel takes rank-3 operands [1, M, K]·[1, K, N]
    const a = tf.reshape(x, [1, ...x.shape]);
    const b = tf.reshape(kernel, [1, ...kernel.shape]);
    const y = fusedLinear({ a, b, bias }, { transposeA: false, transposeB: false, activation: 'linear', leakyreluAlpha: 0 });
    return tf.reshape(y, [m, n]);
  });
}

const fusedLinear = compositeKernel(
  'LoraRecycleLinear',
  (inputs, backend, attrs) =>
    fusedKernelsActive()
      ? wasmProduct(backend, inputs.a, inputs.b, inputs.bias, false, false, [1, inputs.a.shape[1], inputs.b.shape[2]])
      : runStock('_FusedMatMul', backend, inputs, attrs),
  ['a', 'b'],
  (dy, [a, b]) => {
    const [, m, k] = a.shape as [number, number, number];
    const n = b.shape[2] as number;
    const dy2 = () => tf.reshape(dy, [m, n]) as tf.Tensor2D;
    return {
      a: () => tf.reshape(transposedProduct(dy2(), tf.reshape(b, [k, n]) as tf.Tensor2D, false, true), [1, m, k]), // dy·Wᵀ
      b: () => tf.reshape(transposedProduct(tf.reshape(a, [m, k]) as tf.Tensor2D, dy2(), true, false), [1, k, n]), // xᵀ·dy
      bias: () => tf.sum(dy2(), 0), // Σ_rows dy
    };
  },
);
