import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';

/** Ink 1 − grey (channel mean) of pixels [B, H, W, C] in [0, 1], blurred by a Gaussian of σ pixels, as rows [B, H·W]. */
function blurredInk(pixels: tf.Tensor4D, sigma: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [count, height, width] = pixels.shape;
    const radius = Math.ceil(2 * sigma);
    const weights = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
    const total = weights.reduce((a, b) => a + b, 0);
    const kernel = tf.tensor1d(weights.map((w) => w / total));
    const ink = tf.sub(1, tf.mean(pixels, 3, true)) as tf.Tensor4D; // [B, H, W, 1]; outside the image counts as blank
    const rows = tf.conv2d(ink, tf.reshape(kernel, [2 * radius + 1, 1, 1, 1]) as tf.Tensor4D, 1, 'same');
    const blurred = tf.conv2d(rows, tf.reshape(kernel, [1, 2 * radius + 1, 1, 1]) as tf.Tensor4D, 1, 'same');
    return tf.reshape(blurred, [count, height * width]) as tf.Tensor2D;
  });
}

/**
 * Would a reader who knows a character only by where its ink lies see an image's class? Each
 * image's blurred ink is compared by cosine similarity with the summed blurred ink of each class's
 * real images (the class template); the share of images whose most similar template is their own
 * class (a blank image matches none). A model-free stand-in for a person recognising a drawing among the task's classes
 * (chance 1 / classes); with `leaveOneOut` (the real images themselves) each image is taken out of
 * its own template. Pixels [B, H, W, C] in [0, 1]; targets 0..N−1.
 */
export function inkTemplateMatch(
  pixels: tf.Tensor4D,
  targets: readonly number[],
  realPixels: tf.Tensor4D,
  realTargets: readonly number[],
  options: { sigma?: number; leaveOneOut?: boolean } = {},
): number {
  if (pixels.shape[0] !== targets.length || realPixels.shape[0] !== realTargets.length) {
    throw new ShapeError(
      `inkTemplateMatch: ${targets.length} targets for ${pixels.shape[0]} images, ${realTargets.length} for ${realPixels.shape[0]} real ones`,
    );
  }
  if (pixels.shape[1] !== realPixels.shape[1] || pixels.shape[2] !== realPixels.shape[2]) {
    throw new ShapeError(`inkTemplateMatch: images [${pixels.shape}] and real images [${realPixels.shape}] differ in size`);
  }
  const classes = Math.max(...realTargets) + 1;
  const sigma = options.sigma ?? 1.5;
  const [ink, realInk] = [blurredInk(pixels, sigma), blurredInk(realPixels, sigma)];
  const rows = ink.arraySync();
  const templates = tf.tidy(
    () => tf.matMul(tf.oneHot(tf.tensor1d(realTargets as number[], 'int32'), classes), realInk, true, false).arraySync() as number[][],
  ); // [N, H·W]
  tf.dispose([ink, realInk]);
  const hits = rows.map((row, i) => {
    if (!row.some((v) => v > 0)) return 0; // a blank image shows no class
    const similarities = templates.map((template, c) => {
      const own = options.leaveOneOut && realTargets[i] === c ? row : null;
      let dot = 0;
      let norm = 0;
      for (let d = 0; d < row.length; d++) {
        const t = own ? template[d] - own[d] : template[d];
        dot += row[d] * t;
        norm += t * t;
      }
      return norm > 0 ? dot / Math.sqrt(norm) : Number.NEGATIVE_INFINITY; // the row's own norm ranks no class above another
    });
    return similarities.indexOf(Math.max(...similarities)) === targets[i] ? 1 : 0;
  });
  return hits.reduce((a: number, b: number) => a + b, 0) / Math.max(hits.length, 1);
}

/** Images and their targets, as a surrogate set holds them. */
interface LabelledPixels {
  pixels: tf.Tensor4D; // [B, H, W, C] in [0, 1]
  targets: readonly number[];
}

/**
 * inkTemplateMatch of each set against the real images of the same task (`real[s]` for `sets[s]`),
 * averaged over the sets; a set that is its own real set is scored leaving each image out.
 */
export function meanInkMatch(sets: readonly LabelledPixels[], real: readonly LabelledPixels[]): number {
  if (sets.length !== real.length || sets.length === 0) {
    throw new ShapeError(`meanInkMatch: ${sets.length} sets for ${real.length} real ones; expected one real set per set`);
  }
  const matches = sets.map((set, s) =>
    inkTemplateMatch(set.pixels, set.targets, real[s].pixels, real[s].targets, { leaveOneOut: set === real[s] }),
  );
  return matches.reduce((a, b) => a + b, 0) / matches.length;
}
