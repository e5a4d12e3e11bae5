import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';
import { batchMatMul } from './batch-mat-mul';
import { customGradient } from './custom-gradient';
import { expectRank, expectSize } from './shapes';

/**
 * Rows `positions` of each sequence: x [B, T, D], positions int32 [B, n] → [B, n, D].
 * Forward is a gather; the gradient scatters dY back with a one-hot product (the wasm
 * backend has no gather gradient), so it is differentiable w.r.t. x.
 */
export function selectTokens(x: tf.Tensor3D, positions: tf.Tensor2D): tf.Tensor3D {
  expectRank(x, 3, 'selectTokens: x');
  expectRank(positions, 2, 'selectTokens: positions');
  expectSize(positions.shape[0], x.shape[0], 'selectTokens: batch of positions');
  if (positions.dtype !== 'int32') {
    throw new ShapeError(`selectTokens: positions must be int32, found ${positions.dtype}`);
  }
  const [b, t, d] = x.shape;
  const n = positions.shape[1];
  const flat = tf.tidy(() => tf.add(positions, tf.mul(tf.range(0, b, 1, 'int32').reshape([b, 1]), tf.scalar(t, 'int32')))); // [B, n]
  const out = tf.tidy(() => {
    const select = customGradient(([xs]) => {
      return {
        value: tf.gather(tf.reshape(xs, [b * t, d]), tf.reshape(flat, [b * n])).reshape([b, n, d]),
        gradFunc: (dy: tf.Tensor) => {
          const oneHot = tf.oneHot(positions as tf.Tensor2D, t); // [B, n, T] int32
          const oneHotT = tf.transpose(tf.cast(oneHot, 'float32'), [0, 2, 1]); // [B, T, n]
          return batchMatMul(oneHotT as tf.Tensor3D, dy as tf.Tensor3D); // [B, T, D]
        },
      };
    });
    return select(x) as tf.Tensor3D;
  });
  flat.dispose();
  return out;
}
