import * as tf from '@tensorflow/tfjs';
import type { SeededRandom } from '../random/seeded-random';

/** Training-time augmentation of pixel images in [0, 1] (before CLIP normalisation). */
export interface AugmentOptions {
  /** Random resized crop: the crop covers this range of the side length (1 = pure shift). */
  cropScale: [number, number];
  /** Largest shift of the crop centre, as a fraction of the side. */
  maxShift: number;
  flip: boolean; // horizontal flip with p = 0.5
  brightness: number; // additive offset in ±brightness
  contrast: number; // contrast factor in 1 ± contrast
  saturation: number; // saturation factor in 1 ± saturation
}

export const DEFAULT_AUGMENT: AugmentOptions = {
  cropScale: [0.75, 1],
  maxShift: 0.125,
  flip: true,
  brightness: 0.1,
  contrast: 0.2,
  saturation: 0.3,
};

/**
 * pixels [B, H, W, C] in [0, 1] → augmented [B, H, W, C] in [0, 1]; every image gets its own
 * crop, flip and colour jitter drawn from `random` (deterministic given its state).
 * Not differentiable (a data transform); the caller owns the result.
 */
export function augmentPixels(pixels: tf.Tensor4D, random: SeededRandom, options: AugmentOptions = DEFAULT_AUGMENT): tf.Tensor4D {
  const [b, h, w, c] = pixels.shape;
  const boxes: number[][] = [];
  const brightness: number[] = [];
  const contrast: number[] = [];
  const saturation: number[] = [];
  for (let i = 0; i < b; i++) {
    const side = random.uniform(options.cropScale[0], options.cropScale[1]);
    const cy = 0.5 + random.uniform(-options.maxShift, options.maxShift);
    const cx = 0.5 + random.uniform(-options.maxShift, options.maxShift);
    const flip = options.flip && random.next() < 0.5;
    // boxes are [y1, x1, y2, x2] in normalised coordinates; x1 > x2 mirrors the crop
    const [x1, x2] = flip ? [cx + side / 2, cx - side / 2] : [cx - side / 2, cx + side / 2];
    boxes.push([cy - side / 2, x1, cy + side / 2, x2]);
    brightness.push(random.uniform(-options.brightness, options.brightness));
    contrast.push(1 + random.uniform(-options.contrast, options.contrast));
    saturation.push(1 + random.uniform(-options.saturation, options.saturation));
  }
  return tf.tidy(() => {
    const indices = tf.tensor1d(
      Array.from({ length: b }, (_, i) => i),
      'int32',
    );
    // outside the image crop-and-resize extrapolates with 1 (white, the emoji background)
    let x = tf.image.cropAndResize(pixels, tf.tensor2d(boxes), indices, [h, w], 'bilinear', 1) as tf.Tensor4D;
    const perImage = (values: number[]) => tf.tensor4d(values, [b, 1, 1, 1]);
    if (c === 3) {
      const grey = tf.mean(x, 3, true); // [B, H, W, 1]
      x = tf.add(grey, tf.mul(tf.sub(x, grey), perImage(saturation)));
    }
    const mean = tf.mean(x, [1, 2, 3], true);
    x = tf.add(tf.add(mean, tf.mul(tf.sub(x, mean), perImage(contrast))), perImage(brightness));
    return tf.clipByValue(x, 0, 1) as tf.Tensor4D;
  });
}
