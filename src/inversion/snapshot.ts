import * as tf from '@tensorflow/tfjs';
import { denormalizeImages } from '../model/preprocess';

/** The images of an inversion at one step, for visual debugging. */
export interface InversionSnapshot {
  step: number; // iterations done when taken
  side: number; // H = W of `pixels` (the images resized to the snapshot side)
  pixels: Float32Array; // [B, side, side, C] in [0, 1]
  keptPatches: number[][] | null; // [B][n] surviving patches of an un-jittered pruned forward; null before pruning
}

/** Pixels [B, H, W, C] in [0, 1] resized (bilinear) to side × side; a new tensor. */
export function resizedPixels(pixels: tf.Tensor4D, side: number): tf.Tensor4D {
  return tf.tidy(() =>
    pixels.shape[1] === side && pixels.shape[2] === side
      ? pixels.clone()
      : tf.clipByValue(tf.image.resizeBilinear(pixels, [side, side]), 0, 1),
  );
}

/** Pixels in [0, 1] of normalised images (clipped against rounding). */
export function pixelsOf(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.clipByValue(denormalizeImages(images), 0, 1) as tf.Tensor4D);
}

export function takeSnapshot(step: number, images: tf.Tensor4D, side: number, keptPatches: number[][] | null): InversionSnapshot {
  const pixels = tf.tidy(() => resizedPixels(pixelsOf(images), side));
  const values = Float32Array.from(pixels.dataSync() as Float32Array);
  pixels.dispose();
  return { step, side, pixels: values, keptPatches };
}
