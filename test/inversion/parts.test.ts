import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors';
import { LIMITS, MIME, validateGallery } from '../../src/display';
import {
  applyJitter,
  applyJitters,
  drawJitter,
  inkAmount,
  inversionGalleryBundle,
  l2Prior,
  patchMasks,
  totalVariation,
  withinClassSimilarity,
} from '../../src/inversion';
import { normalizeImages } from '../../src/model';
import { roll } from '../../src/ops';
import { SeededRandom } from '../../src/random';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

describe('image priors', () => {
  it('total variation sums the L2 norms of horizontal, vertical and both diagonal differences', () => {
    // one 2×2 grey image [[0, 1], [0, 1]]: horizontal (−1, −1) → √2, vertical 0, diagonals 1 and 1
    const x = tf.tensor4d([0, 1, 0, 1], [1, 2, 2, 1]);
    expect(totalVariation(x).dataSync()[0]).toBeCloseTo(Math.SQRT2 + 2, 4);
    expect(totalVariation(tf.fill([2, 3, 3, 3], 0.7) as tf.Tensor4D).dataSync()[0]).toBeLessThan(1e-5);
  });

  it('ink is the mean of 1 − grey over images and pixels, from normalised images', () => {
    const pixels = tf.tensor4d([1, 1, 0, 0.5, 1, 1, 1, 1], [2, 2, 2, 1]).tile([1, 1, 1, 3]) as tf.Tensor4D; // ink 1.5 of 8 pixels
    expect(inkAmount(normalizeImages(pixels)).dataSync()[0]).toBeCloseTo(1.5 / 8, 5);
    expect(inkAmount(normalizeImages(tf.ones([1, 3, 3, 3]) as tf.Tensor4D)).dataSync()[0]).toBeCloseTo(0, 5);
  });

  it("the L2 prior is the mean over images of each image's L2 norm", () => {
    const x = tf.tensor4d([3, 4, 0, 0, 1, 0, 0, 0], [2, 2, 2, 1]); // norms 5 and 1
    expect(l2Prior(x).dataSync()[0]).toBeCloseTo(3, 5);
  });
});

describe('within-class similarity R_div', () => {
  it('is the mean cosine similarity over pairs of different images with the same target', () => {
    // class 0: (1, 0) and (1, 1) → cos 1/√2; class 1: (0, 2) and (0, −1) → cos −1; class 2: one image, no pair
    const features = tf.tensor2d([1, 0, 0, 2, 1, 1, 0, -1, 5, 5], [5, 2]);
    const targets = tf.tensor1d([0, 1, 0, 1, 2], 'int32');
    expect(withinClassSimilarity(features, targets, 3).dataSync()[0]).toBeCloseTo((Math.SQRT1_2 - 1) / 2, 5);
    expect(withinClassSimilarity(features, tf.tensor1d([0, 1, 2, 3, 4], 'int32'), 5).dataSync()[0]).toBe(0);
  });

  it('lowers under gradient descent on it: same-class features spread apart', () => {
    const features = tf.variable(tf.tensor2d([1, 0.1, 1, 0.2, 0.1, 1, 0.2, 1], [4, 2]));
    const targets = tf.tensor1d([0, 0, 1, 1], 'int32');
    const before = withinClassSimilarity(features, targets, 2).dataSync()[0];
    const optimizer = tf.train.sgd(0.5);
    for (let i = 0; i < 20; i++) optimizer.minimize(() => withinClassSimilarity(features, targets, 2));
    expect(withinClassSimilarity(features, targets, 2).dataSync()[0]).toBeLessThan(before - 0.5);
    features.dispose();
  });
});

describe('jitter', () => {
  it('rolls by at most ⌊side · maxShift⌋ pixels and flips about half the time', () => {
    const random = new SeededRandom(3);
    const draws = Array.from({ length: 400 }, () => drawJitter(random, 32, 1 / 8, true));
    expect(Math.max(...draws.map((d) => Math.abs(d.dy)))).toBe(4);
    expect(Math.max(...draws.map((d) => Math.abs(d.dx)))).toBe(4);
    const flips = draws.filter((d) => d.flip).length;
    expect(flips).toBeGreaterThan(150);
    expect(flips).toBeLessThan(250);
    expect(Array.from({ length: 20 }, () => drawJitter(random, 32, 0, false))).toEqual(
      Array(20).fill({ dy: 0, dx: 0, flip: false, crop: null }),
    );
  });

  it('applies the roll, then the mirror, to the whole batch', () => {
    const x = tf.randomNormal([2, 5, 5, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const expected = tf.reverse(roll(x, 2, -1), 2);
    const got = applyJitter(x, { dy: 2, dx: -1, flip: true, crop: null });
    expect(tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0]).toBe(0);
  });

  it('stacks jittered copies in order, and one jitter is applyJitter itself', () => {
    const x = tf.randomNormal([2, 5, 5, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const jitters = [
      { dy: 1, dx: 0, flip: false, crop: null },
      { dy: -2, dx: 1, flip: true, crop: null },
    ];
    const stacked = applyJitters(x, jitters);
    expect(stacked.shape).toEqual([4, 5, 5, 3]);
    jitters.forEach((jitter, j) => {
      const alone = applyJitter(x, jitter);
      expect(tf.max(tf.abs(tf.sub(tf.slice(stacked, j * 2, 2), alone))).dataSync()[0]).toBe(0);
    });
    expect(tf.max(tf.abs(tf.sub(applyJitters(x, [jitters[1]]), applyJitter(x, jitters[1])))).dataSync()[0]).toBe(0);
  });

  it('with a crop scale below 1, cuts a square of side s·H inside the image and scales it back to H', () => {
    const random = new SeededRandom(5);
    const draws = Array.from({ length: 200 }, () => drawJitter(random, 32, 1 / 8, false, 0.5));
    for (const { crop } of draws) {
      expect(crop!.side).toBeGreaterThanOrEqual(16);
      expect(crop!.side).toBeLessThanOrEqual(32);
      expect(crop!.top + crop!.side).toBeLessThanOrEqual(32);
      expect(crop!.left + crop!.side).toBeLessThanOrEqual(32);
    }
    expect(new Set(draws.map((d) => d.crop!.side)).size).toBeGreaterThan(10);
    // a crop of the whole image is the identity; a 2×2 crop of a constant-per-quadrant image scales one quadrant up
    const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const whole = applyJitter(x, { dy: 0, dx: 0, flip: false, crop: { top: 0, left: 0, side: 6 } });
    expect(tf.max(tf.abs(tf.sub(whole, x))).dataSync()[0]).toBeLessThan(1e-6);
    const quadrants = tf.tensor4d([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], [1, 4, 4, 1]);
    const zoomed = applyJitter(quadrants, { dy: 0, dx: 0, flip: false, crop: { top: 2, left: 2, side: 2 } });
    expect(Array.from(zoomed.dataSync())).toEqual(Array(16).fill(4));
  });
});

describe('patchMasks', () => {
  it('sets exactly the pixels of the kept patches to 1', () => {
    // 4×4 image, patch 2 → 2×2 grid; keep patches 1 (top right) and 2 (bottom left)
    const mask = patchMasks([[1, 2]], 4, 2);
    expect(mask.shape).toEqual([1, 4, 4, 1]);
    expect(Array.from(mask.dataSync())).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0]);
    expect(() => patchMasks([[4]], 4, 2)).toThrow(ShapeError);
  });
});

describe('inversionGalleryBundle', () => {
  it('stays within the gallery limits: class-balanced images, evenly spread frames, always the last', () => {
    const ways = 5;
    const targets = Array.from({ length: 500 }, (_, i) => Math.floor(i / 100)); // 100 per class: over the 400 per snapshot
    const frames = Array.from({ length: 60 }, (_, f) => ({
      step: 10 * (f + 1),
      side: 2,
      pixels: new Float32Array(500 * 2 * 2 * 3).fill(f / 60),
      keptPatches: null,
    }));
    const gallery = validateGallery(
      inversionGalleryBundle({
        title: 't',
        classNames: ['a', 'b', 'c', 'd', 'e'],
        targets,
        channels: 3,
        patchGrid: 1,
        frames,
      })[MIME.gallery],
    );
    const perFrame = LIMITS.imagesPerSnapshot;
    expect(gallery.snapshots.every((s) => s.images.length === perFrame)).toBe(true);
    expect(gallery.snapshots[0].images.filter((im) => im.classIndex === 4).map((im) => im.sample)).toEqual([
      ...Array(perFrame / ways).keys(),
    ]);
    const steps = gallery.snapshots.map((s) => s.step);
    expect(steps).toHaveLength(Math.floor(LIMITS.galleryImages / perFrame));
    expect(steps[0]).toBe(10);
    expect(steps[steps.length - 1]).toBe(600);
  });
});
