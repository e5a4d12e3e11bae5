import * as tf from '@tensorflow/tfjs';
import { aliasKernel } from './kernel-alias';
import { matMul2d } from './mat-mul-2d';
import { expectRank, expectSize } from './shapes';

/**
 * x·kernel + bias: x [M, in], kernel [in, out], bias [out] → [M, out].
 * With a bias, one fused product-and-bias kernel (XNNPACK adds the bias as it writes the
 * output: one kernel launch less than matMul2d + add), whose gradients use explicit
 * transposes like matMul2d's and are computed only for the inputs that need them.
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

const fusedLinear = aliasKernel('LoraRecycleLinear', '_FusedMatMul', ['a', 'b'], (dy, [a, b]) => {
  const [, m, k] = a.shape as [number, number, number];
  const n = b.shape[2] as number;
  const dy2 = () => tf.reshape(dy, [m, n]) as tf.Tensor2D;
  return {
    a: () => tf.reshape(matMul2d(dy2(), tf.transpose(tf.reshape(b, [k, n]) as tf.Tensor2D)), [1, m, k]), // dy·Wᵀ
    b: () => tf.reshape(matMul2d(tf.transpose(tf.reshape(a, [m, k]) as tf.Tensor2D), dy2()), [1, k, n]), // xᵀ·dy
    bias: () => tf.sum(dy2(), 0), // Σ_rows dy
  };
});
