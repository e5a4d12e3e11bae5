import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import type { SeededRandom } from '../random/seeded-random';

/**
 * Augmentation of drawn shapes (glyphs, line drawings: dark ink on a white ground) that keeps
 * their class: the ways one font's rendering of a character differs from another's. Every
 * image gets its own draw; `none` of a field turns it off.
 */
export interface ShapeAugmentOptions {
  maxShift: number; // largest shift per axis, as a fraction of the side
  scale: [number, number]; // zoom factor range (> 1 enlarges the shape)
  maxShear: number; // largest horizontal shear, tan of the slant (oblique and italic faces)
  maxRotation: number; // largest rotation, in radians
  maxStroke: number; // in [0, 1]: how far the ink may move towards a 3×3 thinning or thickening (light and bold faces)
}

export const DEFAULT_SHAPE_AUGMENT: ShapeAugmentOptions = {
  maxShift: 0.1,
  scale: [0.85, 1.15],
  maxShear: 0.25,
  maxRotation: 0.15,
  maxStroke: 0.5,
};

/** Throws a ConfigError naming the first field outside its range; returns the options. */
export function checkShapeAugment(options: ShapeAugmentOptions, where: string): ShapeAugmentOptions {
  const fail = (field: string, range: string, value: unknown) => {
    throw new ConfigError(`${where}.${field} must be ${range}, found ${JSON.stringify(value)}`);
  };
  const { maxShift, scale, maxShear, maxRotation, maxStroke } = options;
  if (!(maxShift >= 0 && maxShift < 0.5)) fail('maxShift', 'in [0, 0.5)', maxShift);
  if (!(Array.isArray(scale) && scale.length === 2 && scale[0] > 0 && scale[0] <= scale[1] && Number.isFinite(scale[1])))
    fail('scale', 'a range [low, high] with 0 < low ≤ high', scale);
  if (!(maxShear >= 0 && maxShear <= 1)) fail('maxShear', 'in [0, 1]', maxShear);
  if (!(maxRotation >= 0 && maxRotation <= Math.PI)) fail('maxRotation', 'in [0, π]', maxRotation);
  if (!(maxStroke >= 0 && maxStroke <= 1)) fail('maxStroke', 'in [0, 1]', maxStroke);
  return options;
}

/**
 * The full options a configuration's partial ones name: `fields` over DEFAULT_SHAPE_AUGMENT.
 * Throws a ConfigError (prefixed by `where`) for a non-object, an unknown field or a value out of range.
 */
export function shapeAugmentFrom(fields: Partial<ShapeAugmentOptions>, where: string): ShapeAugmentOptions {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields))
    throw new ConfigError(`${where} must be an object of ShapeAugmentOptions fields, found ${JSON.stringify(fields)}`);
  const unknown = Object.keys(fields).filter((key) => !(key in DEFAULT_SHAPE_AUGMENT));
  if (unknown.length > 0)
    throw new ConfigError(`${where} has unknown fields ${unknown.join(', ')}; expected ${Object.keys(DEFAULT_SHAPE_AUGMENT).join(', ')}`);
  return checkShapeAugment({ ...DEFAULT_SHAPE_AUGMENT, ...fields }, where);
}

/** The inverse of one image's affine map (output pixel → source pixel, about the centre) and its stroke change. */
interface ShapeDraw {
  inverse: [number, number, number, number]; // row-major 2×2
  shiftY: number; // pixels
  shiftX: number;
  stroke: number; // < 0 thins the ink, > 0 thickens it
}

function drawShape(random: SeededRandom, side: number, options: ShapeAugmentOptions): ShapeDraw {
  const zoom = random.uniform(options.scale[0], options.scale[1]);
  const shear = random.uniform(-options.maxShear, options.maxShear);
  const angle = random.uniform(-options.maxRotation, options.maxRotation);
  const shiftY = side * random.uniform(-options.maxShift, options.maxShift);
  const shiftX = side * random.uniform(-options.maxShift, options.maxShift);
  const stroke = random.uniform(-options.maxStroke, options.maxStroke);
  // forward map M = zoom · R(angle) · [[1, 0], [shear, 1]] on (y, x); x′ = x + shear·y slants like an oblique face
  const [c, s] = [Math.cos(angle), Math.sin(angle)];
  const m = [zoom * (c - s * shear), -zoom * s, zoom * (s + c * shear), zoom * c];
  const det = m[0] * m[3] - m[1] * m[2];
  return { inverse: [m[3] / det, -m[1] / det, -m[2] / det, m[0] / det], shiftY, shiftX, stroke };
}

/** Bilinear resampling of every image through its inverse map, white outside. */
function warp(pixels: Float32Array, shape: [number, number, number, number], draws: ShapeDraw[]): Float32Array {
  const [b, h, w, c] = shape;
  const out = new Float32Array(pixels.length);
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  const at = (image: number, y: number, x: number, channel: number) =>
    y < 0 || y >= h || x < 0 || x >= w ? 1 : pixels[((image * h + y) * w + x) * c + channel];
  for (let i = 0; i < b; i++) {
    const { inverse: k, shiftY, shiftX } = draws[i];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const dy = y - cy - shiftY;
        const dx = x - cx - shiftX;
        const sy = k[0] * dy + k[1] * dx + cy;
        const sx = k[2] * dy + k[3] * dx + cx;
        const y0 = Math.floor(sy);
        const x0 = Math.floor(sx);
        const fy = sy - y0;
        const fx = sx - x0;
        for (let ch = 0; ch < c; ch++) {
          const top = at(i, y0, x0, ch) * (1 - fx) + at(i, y0, x0 + 1, ch) * fx;
          const bottom = at(i, y0 + 1, x0, ch) * (1 - fx) + at(i, y0 + 1, x0 + 1, ch) * fx;
          out[((i * h + y) * w + x) * c + ch] = top * (1 - fy) + bottom * fy;
        }
      }
    }
  }
  return out;
}

/**
 * pixels [B, H, W, C] in [0, 1], dark shapes on white → each image shifted, zoomed, slanted,
 * rotated (bilinear, white beyond the edge) and its ink thinned or thickened, drawn from `random`
 * (deterministic given its state). A data transform, not differentiable; the caller owns the result.
 */
export function augmentShapes(
  pixels: tf.Tensor4D,
  random: SeededRandom,
  options: ShapeAugmentOptions = DEFAULT_SHAPE_AUGMENT,
): tf.Tensor4D {
  const shape = pixels.shape as [number, number, number, number];
  const draws = Array.from({ length: shape[0] }, () => drawShape(random, shape[1], options));
  const warped = warp(pixels.dataSync() as Float32Array, shape, draws);
  return tf.tidy(() => {
    const x = tf.tensor4d(warped, shape);
    const thinner = tf.maxPool(x, 3, 1, 'same'); // white spreads over the ink
    const thicker = tf.neg(tf.maxPool(tf.neg(x), 3, 1, 'same')); // the ink spreads
    const weight = (sign: number) =>
      tf.tensor4d(
        draws.map((d) => Math.max(0, sign * d.stroke)),
        [shape[0], 1, 1, 1],
      );
    const thinned = tf.add(x, tf.mul(weight(-1), tf.sub(thinner, x)));
    return tf.clipByValue(tf.add(thinned, tf.mul(weight(1), tf.sub(thicker, x))), 0, 1) as tf.Tensor4D;
  });
}
