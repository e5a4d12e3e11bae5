import * as tf from '@tensorflow/tfjs';
import { CLIP_MEAN, CLIP_STD, normalizedPixelBounds } from '../model/preprocess';
import { resizeBilinear } from '../prior/bilinear-resize';
import { SeededRandom } from '../random/seeded-random';

/**
 * What an inversion optimises: variables that render to a batch of normalised images. Adam steps
 * the variables; `project` puts them back into their valid range after each step.
 */
export interface Canvas {
  readonly variables: tf.Variable[];
  /** The images [B, H, W, C] normalised, differentiable w.r.t. the variables; call inside a tidy. */
  render(): tf.Tensor4D;
  project(): void;
  dispose(): void;
}

/**
 * Free pixels (method.md §1.3): X ~ N(0, 1) in normalised space on a side × side grid, upsampled
 * bilinearly to the image side when it is smaller; projected onto the values of valid pixels
 * [0, 1] per channel (a convex combination of valid pixels stays valid, so clamping the grid
 * clamps the image).
 */
export function pixelCanvas(count: number, imageSize: number, channels: number, side: number, seed: number): Canvas {
  const bounds = normalizedPixelBounds();
  const low = tf.tensor1d(bounds.low);
  const high = tf.tensor1d(bounds.high);
  const x = tf.tidy(() => tf.variable(tf.randomNormal([count, side, side, channels], 0, 1, 'float32', seed))) as tf.Variable<tf.Rank.R4>;
  return {
    variables: [x],
    render: () => (side === imageSize ? x : resizeBilinear(x, imageSize, imageSize)),
    project: () => tf.tidy(() => x.assign(tf.minimum(tf.maximum(x, low), high))),
    dispose: () => tf.dispose([x, low, high]),
  };
}

/**
 * Stroke widths σ (the Gaussian profile's standard deviation), in pixels of a 32-pixel side (they
 * scale with it): the start, the range by default, and the largest upper end an option may set.
 */
export const STROKE_WIDTH = { initial: 1.2, least: 0.5, most: 3, largestMost: 16 };

/**
 * Images drawn as `strokes` straight dark strokes on white (not in the paper; a prior for line
 * drawings such as glyphs): stroke s of an image runs from p_s to q_s (coordinates in [0, 1] of
 * the side) with a Gaussian cross-section of width σ_s; a pixel at u is inked by
 * 1 − Π_s (1 − exp(−d(u, segment_s)² / 2σ_s²)) and its grey value 1 − ink fills every channel.
 * The variables are the endpoints [B, S, 4] (p_y, p_x, q_y, q_x) and the widths [B, S]; endpoints
 * start uniform in [0.15, 0.85] (seeded) and are projected onto [0, 1], widths onto
 * [0.5, maxWidth] pixels of a 32-pixel side (default 3).
 */
export function strokeCanvas(
  count: number,
  imageSize: number,
  channels: number,
  strokes: number,
  seed: number,
  maxWidth: number = STROKE_WIDTH.most,
): Canvas {
  const random = new SeededRandom(seed);
  const start = Array.from({ length: count * strokes * 4 }, () => 0.15 + 0.7 * random.next());
  const ends = tf.tidy(() => tf.variable(tf.tensor3d(start, [count, strokes, 4]))) as tf.Variable<tf.Rank.R3>;
  const [least, most] = [STROKE_WIDTH.least / 32, maxWidth / 32];
  const initial = Math.min(STROKE_WIDTH.initial, maxWidth) / 32;
  const widths = tf.tidy(() => tf.variable(tf.fill([count, strokes], initial))) as tf.Variable<tf.Rank.R2>;
  const centres = Array.from({ length: imageSize }, (_, i) => (i + 0.5) / imageSize);
  const gridY = tf.tensor1d(centres.flatMap((c) => centres.map(() => c))); // [H·W], row-major
  const gridX = tf.tensor1d(centres.flatMap(() => centres));
  const mean = tf.tensor1d(CLIP_MEAN.slice(0, channels));
  const std = tf.tensor1d(CLIP_STD.slice(0, channels));
  const render = (): tf.Tensor4D =>
    tf.tidy(() => {
      const [py, px, qy, qx] = tf.split(ends, 4, 2); // each [B, S, 1]
      const vy = tf.sub(qy, py);
      const vx = tf.sub(qx, px);
      const uy = tf.sub(gridY, py); // [B, S, H·W]
      const ux = tf.sub(gridX, px);
      const along = tf.div(tf.add(tf.mul(uy, vy), tf.mul(ux, vx)), tf.add(tf.add(tf.square(vy), tf.square(vx)), 1e-6));
      const t = tf.clipByValue(along, 0, 1); // the nearest point of the segment, as a fraction of it
      const distance2 = tf.add(tf.square(tf.sub(uy, tf.mul(t, vy))), tf.square(tf.sub(ux, tf.mul(t, vx))));
      const sigma2 = tf.mul(2, tf.square(tf.expandDims(widths, 2))); // [B, S, 1]
      const blank = tf.prod(tf.sub(1, tf.exp(tf.neg(tf.div(distance2, sigma2)))), 1); // [B, H·W] un-inked share
      const grey = tf.reshape(blank, [count, imageSize, imageSize, 1]);
      return tf.div(tf.sub(tf.tile(grey, [1, 1, 1, channels]), mean), std) as tf.Tensor4D;
    });
  return {
    variables: [ends, widths],
    render,
    project: () =>
      tf.tidy(() => {
        ends.assign(tf.clipByValue(ends, 0, 1));
        widths.assign(tf.clipByValue(widths, least, most));
      }),
    dispose: () => tf.dispose([ends, widths, gridY, gridX, mean, std]),
  };
}
