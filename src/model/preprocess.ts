import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';

/** CLIP's per-channel pixel statistics (RGB); images in the model's space are (x − μ) / σ. */
export const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

function expectRgb(images: tf.Tensor4D, name: string): void {
  if (images.rank !== 4 || images.shape[3] !== 3) {
    throw new ShapeError(`${name}: expected images [B, H, W, 3], found [${images.shape}]`);
  }
}

/** [B, H, W, 3] pixels in [0, 1] → normalised model input. */
export function normalizeImages(pixels01: tf.Tensor4D): tf.Tensor4D {
  expectRgb(pixels01, 'normalizeImages');
  return tf.tidy(() => tf.div(tf.sub(pixels01, CLIP_MEAN), CLIP_STD) as tf.Tensor4D);
}

/** Normalised model input → pixels (in [0, 1] when the input came from valid pixels). */
export function denormalizeImages(x: tf.Tensor4D): tf.Tensor4D {
  expectRgb(x, 'denormalizeImages');
  return tf.tidy(() => tf.add(tf.mul(x, CLIP_STD), CLIP_MEAN) as tf.Tensor4D);
}

/** Per-channel bounds of valid pixels in normalised space: (0 − μ)/σ and (1 − μ)/σ. */
export function normalizedPixelBounds(): { low: number[]; high: number[] } {
  return {
    low: CLIP_MEAN.map((m, c) => (0 - m) / CLIP_STD[c]),
    high: CLIP_MEAN.map((m, c) => (1 - m) / CLIP_STD[c]),
  };
}
