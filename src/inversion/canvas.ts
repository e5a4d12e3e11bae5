import * as tf from '@tensorflow/tfjs';
import { CLIP_MEAN, CLIP_STD, normalizeImages, normalizedPixelBounds } from '../model/preprocess';
import type { LatentGenerator } from '../prior/glyph-vae';
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

/** Each latent coordinate is kept in [−LATENT_BOUND, LATENT_BOUND]: codes a N(0, I) prior deems likely. */
export const LATENT_BOUND = 3;

/**
 * Latent codes of a generator (the glyph VAE's decoder): z ~ N(0, I) [count, latent], seeded, each
 * rendered as the generator's grey image repeated over the channels and CLIP-normalised; projected
 * into [−LATENT_BOUND, LATENT_BOUND] per coordinate. The images are whatever the generator can
 * draw, so inversion searches shapes of the domain it learnt.
 */
export function latentCanvas(generator: LatentGenerator, count: number, channels: number, seed: number): Canvas {
  const z = tf.tidy(() => tf.variable(tf.randomNormal([count, generator.config.latent], 0, 1, 'float32', seed))) as tf.Variable<tf.Rank.R2>;
  return {
    variables: [z],
    render: () => normalizeImages(tf.tile(generator.decode(z), [1, 1, 1, channels]) as tf.Tensor4D),
    project: () => tf.tidy(() => z.assign(tf.clipByValue(z, -LATENT_BOUND, LATENT_BOUND))),
    dispose: () => z.dispose(),
  };
}

/**
 * Stroke widths σ (the Gaussian profile's standard deviation), in pixels of a 32-pixel side (they
 * scale with it): the start, the range by default, and the largest upper end an option may set.
 */
export const STROKE_WIDTH = { initial: 1.2, least: 0.5, most: 3, largestMost: 16 };

/** The most straight segments a stroke may have (each costs as much to draw as a straight stroke). */
export const MAX_STROKE_SEGMENTS = 8;

/** How strokes are drawn: the widest σ (pixels of a 32-pixel side) and the straight segments of each stroke. */
export interface StrokeShape {
  maxWidth?: number; // default STROKE_WIDTH.most
  segments?: number; // L ≥ 1, default 1: each stroke a straight line
}

/**
 * Starting points [B·S·(L+1)·2] (y, x in [0, 1] of the side): a straight stroke's two ends uniform in
 * [0.15, 0.85]; a stroke of L ≥ 2 segments a random walk from a uniform start, each step at most
 * 0.25 of the side along each axis, kept inside [0.15, 0.85].
 */
function startingPoints(random: SeededRandom, count: number, strokes: number, segments: number): number[] {
  const uniform = () => 0.15 + 0.7 * random.next();
  if (segments === 1) return Array.from({ length: count * strokes * 4 }, uniform);
  const points: number[] = [];
  for (let stroke = 0; stroke < count * strokes; stroke++) {
    let [y, x] = [uniform(), uniform()];
    points.push(y, x);
    for (let k = 0; k < segments; k++) {
      y = Math.min(0.85, Math.max(0.15, y + 0.5 * (random.next() - 0.5)));
      x = Math.min(0.85, Math.max(0.15, x + 0.5 * (random.next() - 0.5)));
      points.push(y, x);
    }
  }
  return points;
}

/**
 * Images drawn as `strokes` dark pen strokes on white (not in the paper; a prior for line drawings
 * such as glyphs): stroke s of an image is a polyline of L straight segments through the points
 * p_s,0 … p_s,L (coordinates in [0, 1] of the side; L = 1: a straight line from p_s,0 to p_s,1)
 * with a Gaussian cross-section of width σ_s; a pixel at u is inked by
 * 1 − Π_segments (1 − exp(−d(u, segment)² / 2σ²)) and its grey value 1 − ink fills every channel.
 * The variables are the points [B, S, 2(L+1)] (y, x of p_s,0, then of p_s,1, …) and the widths
 * [B, S]; points start as startingPoints draws them (seeded) and are projected onto [0, 1], widths
 * onto [0.5, maxWidth] pixels of a 32-pixel side (default 3).
 */
export function strokeCanvas(
  count: number,
  imageSize: number,
  channels: number,
  strokes: number,
  seed: number,
  shape: StrokeShape = {},
): Canvas {
  const maxWidth = shape.maxWidth ?? STROKE_WIDTH.most;
  const segments = shape.segments ?? 1;
  const start = startingPoints(new SeededRandom(seed), count, strokes, segments);
  const points = tf.tidy(() => tf.variable(tf.tensor3d(start, [count, strokes, 2 * (segments + 1)]))) as tf.Variable<tf.Rank.R3>;
  const [least, most] = [STROKE_WIDTH.least / 32, maxWidth / 32];
  const initial = Math.min(STROKE_WIDTH.initial, maxWidth) / 32;
  const widths = tf.tidy(() => tf.variable(tf.fill([count, strokes], initial))) as tf.Variable<tf.Rank.R2>;
  const centres = Array.from({ length: imageSize }, (_, i) => (i + 0.5) / imageSize);
  const gridY = tf.tensor1d(centres.flatMap((c) => centres.map(() => c))); // [H·W], row-major
  const gridX = tf.tensor1d(centres.flatMap(() => centres));
  const mean = tf.tensor1d(CLIP_MEAN.slice(0, channels));
  const std = tf.tensor1d(CLIP_STD.slice(0, channels));
  const pieces = strokes * segments;
  const render = (): tf.Tensor4D =>
    tf.tidy(() => {
      const ends = (from: number) => tf.reshape(tf.slice(points, [0, 0, from], [-1, -1, 2 * segments]), [count, pieces, 2]);
      const [py, px] = tf.split(ends(0), 2, 2); // each [B, S·L, 1]: the segments' first points
      const [qy, qx] = tf.split(ends(2), 2, 2); // and their last
      const vy = tf.sub(qy, py);
      const vx = tf.sub(qx, px);
      const uy = tf.sub(gridY, py); // [B, S·L, H·W]
      const ux = tf.sub(gridX, px);
      const along = tf.div(tf.add(tf.mul(uy, vy), tf.mul(ux, vx)), tf.add(tf.add(tf.square(vy), tf.square(vx)), 1e-6));
      const t = tf.clipByValue(along, 0, 1); // the nearest point of the segment, as a fraction of it
      const distance2 = tf.add(tf.square(tf.sub(uy, tf.mul(t, vy))), tf.square(tf.sub(ux, tf.mul(t, vx))));
      const segmentWidths = tf.reshape(tf.tile(tf.expandDims(widths, 2), [1, 1, segments]), [count, pieces]); // each stroke's σ on its L segments
      const sigma2 = tf.mul(2, tf.square(tf.expandDims(segmentWidths, 2))); // [B, S·L, 1]
      const blank = tf.prod(tf.sub(1, tf.exp(tf.neg(tf.div(distance2, sigma2)))), 1); // [B, H·W] un-inked share
      const grey = tf.reshape(blank, [count, imageSize, imageSize, 1]);
      return tf.div(tf.sub(tf.tile(grey, [1, 1, 1, channels]), mean), std) as tf.Tensor4D;
    });
  return {
    variables: [points, widths],
    render,
    project: () =>
      tf.tidy(() => {
        points.assign(tf.clipByValue(points, 0, 1));
        widths.assign(tf.clipByValue(widths, least, most));
      }),
    dispose: () => tf.dispose([points, widths, gridY, gridX, mean, std]),
  };
}
