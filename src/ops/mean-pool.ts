import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';

/**
 * 2×2 average pooling, stride 2: x [B, H, W, C] → [B, H/2, W/2, C]. A reshape and a mean, so the
 * gradient runs on every backend (the wasm backend has no AvgPoolGrad kernel).
 */
export function meanPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) throw new ShapeError(`meanPool2x2: height and width must be even, found ${h}×${w}`);
  return tf.tidy(() => tf.reshape(tf.mean(tf.reshape(x, [b, h / 2, 2, w / 2, 2, c]), [2, 4]), [b, h / 2, w / 2, c]) as tf.Tensor4D);
}
