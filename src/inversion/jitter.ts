import * as tf from '@tensorflow/tfjs';
import { roll } from '../ops';
import type { SeededRandom } from '../random/seeded-random';

/** One iteration's augmentation of the whole batch: a roll by (dy, dx) pixels, then maybe a mirror. */
export interface Jitter {
  dy: number;
  dx: number;
  flip: boolean;
}

/** Roll by up to ±⌊side · maxShift⌋ pixels per axis (paper: ±H/8) and a flip with p = 0.5. */
export function drawJitter(random: SeededRandom, side: number, maxShift: number, flip: boolean): Jitter {
  const limit = Math.floor(side * maxShift);
  const dy = random.int(2 * limit + 1) - limit;
  const dx = random.int(2 * limit + 1) - limit;
  return { dy, dx, flip: flip && random.next() < 0.5 };
}

/** x [B, H, W, C] → jittered x, differentiable w.r.t. x. */
export function applyJitter(x: tf.Tensor4D, jitter: Jitter): tf.Tensor4D {
  return tf.tidy(() => {
    const rolled = roll(x, jitter.dy, jitter.dx);
    return jitter.flip ? (tf.reverse(rolled, 2) as tf.Tensor4D) : rolled;
  });
}
