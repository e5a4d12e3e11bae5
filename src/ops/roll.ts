import * as tf from '@tensorflow/tfjs';
import { expectRank } from './shapes';

/**
 * Circular shift of images [B, H, W, C] by dy rows and dx columns, like numpy's roll:
 * out[y, x] = in[(y − dy) mod H, (x − dx) mod W]. Slices and concatenations, so it is differentiable.
 */
export function roll(images: tf.Tensor4D, dy: number, dx: number): tf.Tensor4D {
  expectRank(images, 4, 'roll: images');
  return tf.tidy(() => rollAxis(rollAxis(images, dy, 1), dx, 2));
}

function rollAxis(x: tf.Tensor4D, shift: number, axis: 1 | 2): tf.Tensor4D {
  const size = x.shape[axis];
  const s = ((Math.round(shift) % size) + size) % size;
  if (s === 0) return x;
  const [head, tail] = tf.split(x, [size - s, s], axis);
  return tf.concat([tail, head], axis) as tf.Tensor4D;
}
