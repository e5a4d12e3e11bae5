import * as tf from '@tensorflow/tfjs';
import { matMul2d } from './mat-mul-2d';

/**
 * 3×3 convolution, stride 1, zero "same" padding, as im2col + one 2-D product:
 * x [B, H, W, Cin], kernel [3, 3, Cin, Cout] (HWIO) → [B, H, W, Cout].
 * Written this way because the wasm backend has no Conv2DBackpropFilter kernel; slices, concat
 * and matMul2d all have fast gradients there (w.r.t. both the pixels and the kernel).
 */
export function conv3x3(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, cin] = x.shape;
  const cout = kernel.shape[3];
  return tf.tidy(() => {
    const padded = tf.pad(x, [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]); // [B, H+2, W+2, Cin]
    const shifted: tf.Tensor4D[] = [];
    for (let dy = 0; dy < 3; dy++) {
      for (let dx = 0; dx < 3; dx++) shifted.push(tf.slice(padded, [0, dy, dx, 0], [b, h, w, cin]));
    }
    const columns = tf.reshape(tf.concat(shifted, 3), [b * h * w, 9 * cin]) as tf.Tensor2D; // rows (dy, dx, c)
    const out = matMul2d(columns, tf.reshape(kernel, [9 * cin, cout]) as tf.Tensor2D); // [B·H·W, Cout]
    return tf.reshape(out, [b, h, w, cout]) as tf.Tensor4D;
  });
}
