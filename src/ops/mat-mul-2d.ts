import * as tf from '@tensorflow/tfjs';
import { aliasKernel } from './kernel-alias';
import { expectRank, expectSize } from './shapes';

/**
 * a·b for 2-D matrices. The gradient uses explicit transposes (dA = dY·bᵀ, dB = aᵀ·dY)
 * so that every product runs on the fast plain 2-D matMul path of the wasm backend
 * (tfjs' own gradient passes transpose flags, which fall to a slow path), and each is
 * computed only when that input needs a gradient.
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  expectRank(a, 2, 'matMul2d: a');
  expectRank(b, 2, 'matMul2d: b');
  expectSize(b.shape[0], a.shape[1], `matMul2d: rows of b (a is [${a.shape}])`);
  return plainMatMul({ a, b }, { transposeA: false, transposeB: false }) as tf.Tensor2D;
}

const plainMatMul = aliasKernel('LoraRecycleMatMul2d', 'BatchMatMul', ['a', 'b'], (dy, [a, b]) => ({
  a: () => matMul2d(dy as tf.Tensor2D, tf.transpose(b as tf.Tensor2D)), // [M, K]
  b: () => matMul2d(tf.transpose(a as tf.Tensor2D), dy as tf.Tensor2D), // [K, N]
}));
