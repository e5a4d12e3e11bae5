import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';
import { customGradient } from './custom-gradient';
import { batchedMatMulIsFast } from './matmul-attention';
import { expectRank } from './shapes';

/**
 * Batched product a[n]·b[n]: a [N, M, K], b [N, K, P] → [N, M, P].
 * Written as one depthwise convolution (channels = N, filter 1×K with multiplier P), which
 * runs on XNNPACK; tfjs' batched matMul on wasm takes a slow path (~4× slower here).
 * Its gradient is two more such products, so it is differentiable on every backend. On the
 * native TensorFlow backend, whose batched matMul is fast, it is tf.matMul itself.
 */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  expectRank(a, 3, 'batchMatMul: a');
  expectRank(b, 3, 'batchMatMul: b');
  if (a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new ShapeError(`batchMatMul: shapes [${a.shape}] and [${b.shape}] do not chain`);
  }
  return (batchedMatMulIsFast() ? tf.matMul(a, b) : depthwiseProduct(a, b)) as tf.Tensor3D;
}

const depthwiseProduct = customGradient(([a, b], save) => {
  save([a, b]);
  return {
    value: tf.tidy(() => {
      const [n, m, k] = a.shape as [number, number, number];
      const p = b.shape[2] as number;
      const input = tf.reshape(tf.transpose(a, [1, 2, 0]), [1, m, k, n]); // [1, M, K, N]
      const filter = tf.reshape(tf.transpose(b, [1, 0, 2]), [1, k, n, p]); // [1, K, N, P]
      const out = tf.depthwiseConv2d(input as tf.Tensor4D, filter as tf.Tensor4D, 1, 'valid'); // [1, M, 1, N·P]
      return tf.transpose(tf.reshape(out, [m, n, p]), [1, 0, 2]); // [N, M, P]
    }),
    gradFunc: (dy, [sa, sb]) => [
      batchMatMul(dy as tf.Tensor3D, tf.transpose(sb, [0, 2, 1]) as tf.Tensor3D), // [N, M, K]
      batchMatMul(tf.transpose(sa, [0, 2, 1]) as tf.Tensor3D, dy as tf.Tensor3D), // [N, K, P]
    ],
  };
});
