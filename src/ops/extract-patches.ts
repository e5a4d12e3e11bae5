import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';
import { expectRank } from './shapes';

/**
 * Non-overlapping p×p patches of images [B, H, W, C] → [B·T, p·p·C], T = (H/p)·(W/p),
 * patches in row-major order, each row laid out (py, px, c). Reshapes and a rank-4 transpose,
 * so it is differentiable w.r.t. the pixels on every backend.
 */
export function extractPatches(images: tf.Tensor4D, patchSize: number): tf.Tensor2D {
  expectRank(images, 4, 'extractPatches: images');
  const [b, h, w, c] = images.shape;
  const p = patchSize;
  if (!Number.isInteger(p) || p <= 0 || h % p !== 0 || w % p !== 0) {
    throw new ShapeError(`extractPatches: image size ${h}×${w} must be a multiple of patchSize, found ${p}`);
  }
  return tf.tidy(() => {
    const rows = tf.reshape(images, [b * (h / p), p, w / p, p * c]); // [B·H/p, py, W/p, (px, c)]
    const patches = tf.transpose(rows, [0, 2, 1, 3]); // [B·H/p, W/p, py, (px, c)]
    return tf.reshape(patches, [b * (h / p) * (w / p), p * p * c]);
  });
}
