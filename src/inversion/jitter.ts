import * as tf from '@tensorflow/tfjs';
import { roll } from '../ops';
import { resizeBilinear } from '../prior/bilinear-resize';
import type { SeededRandom } from '../random/seeded-random';

/** One iteration's augmentation of the whole batch: a roll by (dy, dx) pixels, maybe a mirror, maybe a zoom. */
export interface Jitter {
  dy: number;
  dx: number;
  flip: boolean;
  crop: { top: number; left: number; side: number } | null; // a square cut out and scaled back to the full side
}

/**
 * Roll by up to ±⌊side · maxShift⌋ pixels per axis (paper: ±H/8) and a flip with p = 0.5; with
 * minCropScale < 1 also a random square of side s·H, s uniform in [minCropScale, 1], at a random
 * place (a random-resized crop; not in the paper). The crop's numbers are drawn only then, so runs
 * without it draw the paper's sequence.
 */
export function drawJitter(random: SeededRandom, side: number, maxShift: number, flip: boolean, minCropScale = 1): Jitter {
  const limit = Math.floor(side * maxShift);
  const dy = random.int(2 * limit + 1) - limit;
  const dx = random.int(2 * limit + 1) - limit;
  const mirrored = flip && random.next() < 0.5;
  if (minCropScale >= 1) return { dy, dx, flip: mirrored, crop: null };
  const cropSide = Math.max(2, Math.round(side * (minCropScale + random.next() * (1 - minCropScale))));
  const top = random.int(side - cropSide + 1);
  const left = random.int(side - cropSide + 1);
  return { dy, dx, flip: mirrored, crop: { top, left, side: cropSide } };
}

/** The most jittered copies of the batch one inversion step may average its loss over. */
export const MAX_JITTER_COPIES = 8;

/**
 * x [B, H, W, C] → the J jittered copies stacked [J·B, H, W, C] (copy j is rows j·B … j·B + B − 1),
 * differentiable w.r.t. x; one jitter gives applyJitter's batch itself.
 */
export function applyJitters(x: tf.Tensor4D, jitters: readonly Jitter[]): tf.Tensor4D {
  if (jitters.length === 1) return applyJitter(x, jitters[0]);
  return tf.tidy(() => tf.concat(jitters.map((jitter) => applyJitter(x, jitter))));
}

/** x [B, H, W, C] → jittered x, differentiable w.r.t. x. */
export function applyJitter(x: tf.Tensor4D, jitter: Jitter): tf.Tensor4D {
  return tf.tidy(() => {
    const rolled = roll(x, jitter.dy, jitter.dx);
    const mirrored = jitter.flip ? (tf.reverse(rolled, 2) as tf.Tensor4D) : rolled;
    if (!jitter.crop) return mirrored;
    const [b, h, w, c] = x.shape;
    const { top, left, side } = jitter.crop;
    return resizeBilinear(tf.slice(mirrored, [0, top, left, 0], [b, side, side, c]), h, w);
  });
}
