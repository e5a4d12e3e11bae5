import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LATENT_BOUND, latentCanvas, pixelCanvas, strokeCanvas } from '../../src/inversion/canvas';
import { GlyphVae } from '../../src/prior/glyph-vae';
import { denormalizeImages, normalizedPixelBounds } from '../../src/model';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

/** The grey value (channel 0, in [0, 1]) of each pixel of image 0. */
const greyOf = (images: tf.Tensor4D) =>
  tf.tidy(() => denormalizeImages(images).slice([0, 0, 0, 0], [1, -1, -1, 1]).reshape([-1]).arraySync() as number[]);

describe('strokeCanvas: images drawn as strokes', () => {
  it('inks the pixels along a stroke dark, leaves the rest white, and fills every channel with one grey', () => {
    const canvas = strokeCanvas(1, 16, 3, 1, 1);
    canvas.variables[0].assign(tf.tensor3d([[[0.5, 0.2, 0.5, 0.8]]])); // a horizontal stroke across the middle
    const images = tf.tidy(() => canvas.render().clone());
    const grey = greyOf(images);
    const at = (row: number, column: number) => grey[row * 16 + column];
    expect(at(7, 8)).toBeLessThan(0.3); // on the stroke (centre rows 7 and 8 lie 1/32 from it)
    expect(at(8, 8)).toBeLessThan(0.3);
    expect(at(1, 8)).toBeGreaterThan(0.99); // far above it
    expect(at(7, 0)).toBeGreaterThan(0.9); // beyond its end
    const pixels = tf.tidy(() => denormalizeImages(images).arraySync() as number[][][][]);
    const [r, g, b] = pixels[0][7][8];
    expect(g).toBeCloseTo(r, 5);
    expect(b).toBeCloseTo(r, 5);
    images.dispose();
    canvas.dispose();
  });

  it('passes gradients to the endpoints and widths, and projects them back into range', () => {
    const canvas = strokeCanvas(2, 16, 3, 3, 4);
    const { grads } = tf.variableGrads(() => tf.mean(canvas.render()) as tf.Scalar, canvas.variables);
    for (const v of canvas.variables) expect(tf.tidy(() => tf.max(tf.abs(grads[v.name])).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose(Object.values(grads));
    canvas.variables[0].assign(tf.fill([2, 3, 4], 1.7));
    canvas.variables[1].assign(tf.fill([2, 3], -1));
    canvas.project();
    expect(Math.max(...canvas.variables[0].dataSync())).toBe(1);
    expect(Math.min(...canvas.variables[1].dataSync())).toBeGreaterThan(0);
    canvas.dispose();
  });

  it('keeps every width within [0.5, maxWidth] pixels of a 32-pixel side, starting no wider than maxWidth', () => {
    const thin = strokeCanvas(1, 32, 3, 2, 3, { maxWidth: 1 });
    expect(Math.max(...thin.variables[1].dataSync())).toBeCloseTo(1 / 32, 6); // 1.2 by default, capped at 1
    thin.variables[1].assign(tf.tensor2d([[0.5, -1]]));
    thin.project();
    const [wide, narrow] = thin.variables[1].dataSync();
    expect(wide).toBeCloseTo(1 / 32, 6);
    expect(narrow).toBeCloseTo(0.5 / 32, 6);
    thin.dispose();
    const standard = strokeCanvas(1, 32, 3, 1, 3);
    standard.variables[1].assign(tf.tensor2d([[0.5]]));
    standard.project();
    expect(standard.variables[1].dataSync()[0]).toBeCloseTo(3 / 32, 6);
    standard.dispose();
  });

  it('draws a stroke of several segments as one connected polyline through its points', () => {
    const canvas = strokeCanvas(1, 16, 3, 1, 1, { segments: 2 });
    expect(canvas.variables[0].shape).toEqual([1, 1, 6]);
    canvas.variables[0].assign(tf.tensor3d([[[0.5, 0.2, 0.5, 0.5, 0.2, 0.5]]])); // across to the centre, then up
    const images = tf.tidy(() => canvas.render().clone());
    const grey = greyOf(images);
    const at = (row: number, column: number) => grey[row * 16 + column];
    expect(at(7, 4)).toBeLessThan(0.3); // on the first leg
    expect(at(5, 7)).toBeLessThan(0.3); // on the second
    expect(at(5, 5)).toBeGreaterThan(0.9); // on the chord from the first point to the last, which is not drawn
    expect(at(7, 12)).toBeGreaterThan(0.9); // beyond the corner
    images.dispose();
    canvas.dispose();
  });

  it('starts a stroke of several segments as a short random walk inside [0.15, 0.85], and a straight one as before', () => {
    const walk = strokeCanvas(3, 16, 3, 2, 7, { segments: 4 });
    const strokes = (walk.variables[0].arraySync() as number[][][]).flat();
    for (const points of strokes) {
      points.forEach((v) => expect(v >= 0.15 - 1e-6 && v <= 0.85 + 1e-6).toBe(true)); // float32
      for (let k = 2; k < points.length; k++) expect(Math.abs(points[k] - points[k - 2])).toBeLessThanOrEqual(0.25 + 1e-6);
    }
    walk.dispose();
    const [straight, explicit] = [strokeCanvas(2, 16, 3, 3, 9), strokeCanvas(2, 16, 3, 3, 9, { segments: 1 })];
    expect(Array.from(explicit.variables[0].dataSync())).toEqual(Array.from(straight.variables[0].dataSync()));
    straight.dispose();
    explicit.dispose();
  });

  it('leaves the tensor count flat across renders and after dispose', () => {
    const before = tf.memory().numTensors;
    const canvas = strokeCanvas(2, 8, 3, 2, 5, { segments: 3 });
    const pixels = pixelCanvas(2, 8, 3, 4, 5);
    tf.tidy(() => {
      canvas.render();
      pixels.render();
    });
    canvas.project();
    pixels.project();
    canvas.dispose();
    pixels.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('pixelCanvas: free pixels', () => {
  it('starts from N(0, 1) and projects onto the values of valid pixels', () => {
    const canvas = pixelCanvas(3, 8, 3, 8, 2);
    canvas.project();
    const { low, high } = normalizedPixelBounds();
    const values = canvas.variables[0].arraySync() as number[][][][];
    values.flat(2).forEach((pixel) => pixel.forEach((v, c) => expect(v >= low[c] - 1e-6 && v <= high[c] + 1e-6).toBe(true)));
    canvas.dispose();
  });
});

describe('latentCanvas: images a generator draws from codes', () => {
  it("renders each code as the decoder's grey image in every channel, passes gradients to the codes and projects them into ±LATENT_BOUND", () => {
    const generator = GlyphVae.random({ imageSize: 8, latent: 4, widths: [4] }, 2);
    const canvas = latentCanvas(generator, 3, 3, 7);
    const [z] = canvas.variables;
    expect(z.shape).toEqual([3, 4]);
    const images = tf.tidy(() => denormalizeImages(canvas.render()));
    const decoded = tf.tidy(() => generator.decode(z as tf.Tensor2D));
    const rgb = images.arraySync() as number[][][][];
    const grey = decoded.arraySync() as number[][][][];
    rgb.forEach((image, i) =>
      image.forEach((row, y) => row.forEach((pixel, x) => pixel.forEach((value) => expect(value).toBeCloseTo(grey[i][y][x][0], 5)))),
    );
    const gradient = tf.tidy(() => tf.grad((code: tf.Tensor) => tf.sum(generator.decode(code as tf.Tensor2D)))(z));
    expect(Math.max(...Array.from(gradient.dataSync()).map(Math.abs))).toBeGreaterThan(0);
    z.assign(tf.tensor2d([[5, -5, 0.5, 2]], [1, 4]).tile([3, 1]));
    canvas.project();
    expect(Array.from(z.dataSync()).slice(0, 4)).toEqual([LATENT_BOUND, -LATENT_BOUND, 0.5, 2]);
    const again = latentCanvas(generator, 3, 3, 7);
    const other = latentCanvas(generator, 3, 3, 8);
    expect(Array.from(again.variables[0].dataSync())).not.toEqual(Array.from(other.variables[0].dataSync()));
    tf.dispose([images, decoded, gradient]);
    [canvas, again, other].forEach((c) => c.dispose());
    generator.dispose();
  });
});
