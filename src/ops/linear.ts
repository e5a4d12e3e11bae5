import * as tf from '@tensorflow/tfjs';
import { matMul2d } from './mat-mul-2d';
import { expectRank, expectSize } from './shapes';

/**
 * x·kernel + bias: x [M, in], kernel [in, out], bias [out] → [M, out]. (A fused
 * product-and-bias kernel measured no faster on wasm than matMul2d + add.)
 */
export function linear(x: tf.Tensor2D, kernel: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  const y = matMul2d(x, kernel); // [M, out]
  if (!bias) return y;
  expectRank(bias, 1, 'linear: bias');
  expectSize(bias.shape[0], kernel.shape[1], 'linear: bias length (columns of kernel)');
  return tf.add(y, bias);
}
