import * as tf from '@tensorflow/tfjs';
import { denormalizeImages } from '../model/preprocess';

/** ‖v‖₂ with a 1e-12 floor under the root, so the gradient stays finite at 0. */
function norm(v: tf.Tensor): tf.Scalar {
  return tf.sqrt(tf.add(tf.sum(tf.square(v)), 1e-12)) as tf.Scalar;
}

/**
 * Total variation as in DeepInversion's `get_image_prior_losses` (the code the authors reuse):
 * the sum of the L2 norms (not squared) over the whole batch of the horizontal, vertical and
 * both diagonal neighbour differences. x [B, H, W, C].
 */
export function totalVariation(x: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const at = (y: number, xx: number, dh: number, dw: number) => tf.slice(x, [0, y, xx, 0], [b, h - dh, w - dw, c]);
    const horizontal = tf.sub(at(0, 0, 0, 1), at(0, 1, 0, 1));
    const vertical = tf.sub(at(0, 0, 1, 0), at(1, 0, 1, 0));
    const antiDiagonal = tf.sub(at(1, 0, 1, 1), at(0, 1, 1, 1));
    const diagonal = tf.sub(at(0, 0, 1, 1), at(1, 1, 1, 1));
    return tf.addN([norm(horizontal), norm(vertical), norm(antiDiagonal), norm(diagonal)]) as tf.Scalar;
  });
}

/**
 * Ink: the mean over images and pixels of 1 − grey, grey the channel mean of the pixels in [0, 1]
 * (not in the paper; with strokes it asks every stroke to earn its ink). x [B, H, W, C] normalised.
 */
export function inkAmount(x: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.sub(1, tf.mean(denormalizeImages(x))) as tf.Scalar);
}

/** L2 prior: the mean over images of ‖x_i‖₂ (DeepInversion's `loss_l2`). */
export function l2Prior(x: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const rows = tf.reshape(x, [x.shape[0], -1]);
    return tf.mean(tf.sqrt(tf.add(tf.sum(tf.square(rows), 1), 1e-12))) as tf.Scalar;
  });
}
