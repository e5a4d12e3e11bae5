import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import { denormalizeImages, normalizeImages } from '../model/preprocess';

/**
 * Adversarial training's inner step (Madry et al. 2018, L2 threat model): each image may move by
 * a perturbation δ of pixel-space norm ‖δ‖₂ ≤ ε (pixels in [0, 1]); `steps` steps of projected
 * gradient ascent on the cross-entropy, each of α = 2.5 ε / steps along the image's normalised
 * gradient, δ starting at 0.
 */
export interface AdversarialOptions {
  epsilon: number; // ε > 0, pixel-space L2 radius per image
  steps: number; // PGD steps ≥ 1
}

/** The options, checked: a clear error naming `where` for anything out of range. */
export function checkAdversarial(options: AdversarialOptions, where: string): AdversarialOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new ConfigError(`${where} must be an object { epsilon, steps }, found ${JSON.stringify(options)}`);
  const { epsilon, steps } = options;
  if (!(typeof epsilon === 'number' && epsilon > 0 && Number.isFinite(epsilon)))
    throw new ConfigError(`${where}.epsilon must be a finite number > 0, found ${JSON.stringify(epsilon)}`);
  if (!(Number.isInteger(steps) && steps >= 1 && steps <= 20))
    throw new ConfigError(`${where}.steps must be an integer in 1..20, found ${JSON.stringify(steps)}`);
  const unknown = Object.keys(options).filter((key) => key !== 'epsilon' && key !== 'steps');
  if (unknown.length > 0) throw new ConfigError(`${where} has unknown fields: ${unknown.join(', ')}`);
  return { epsilon, steps };
}

/** Each row of v [B, …] scaled to L2 norm ≤ radius (radius null: to norm 1). */
function perImageScale(v: tf.Tensor4D, radius: number | null): tf.Tensor4D {
  const norms = tf.sqrt(tf.add(tf.sum(tf.square(v), [1, 2, 3], true), 1e-12));
  const factor = radius === null ? tf.div(1, norms) : tf.minimum(1, tf.div(radius, norms));
  return tf.mul(v, factor) as tf.Tensor4D;
}

/**
 * images [B, H, W, C] normalised, labels [B] → the L2-PGD adversarial copies, normalised, for the
 * classifier `logitsOf` as it is now (a constant: no gradient flows back from them). Call outside
 * any gradient tape; leaves only the returned tensor behind.
 */
export function adversarialImages(
  logitsOf: (images: tf.Tensor4D) => tf.Tensor2D,
  images: tf.Tensor4D,
  labels: readonly number[],
  options: AdversarialOptions,
): tf.Tensor4D {
  return tf.tidy(() => {
    const pixels = denormalizeImages(images);
    const targets = tf.tensor1d([...labels], 'int32');
    const perturbed = (delta: tf.Tensor4D) => normalizeImages(tf.clipByValue(tf.add(pixels, delta), 0, 1) as tf.Tensor4D);
    const lossGradient = tf.grad((delta: tf.Tensor) => {
      const logits = logitsOf(perturbed(delta as tf.Tensor4D));
      return tf.losses.softmaxCrossEntropy(tf.oneHot(targets, logits.shape[1]), logits);
    });
    const alpha = (2.5 * options.epsilon) / options.steps;
    let delta = tf.zerosLike(pixels) as tf.Tensor4D;
    for (let step = 0; step < options.steps; step++) {
      const ascent = tf.mul(alpha, perImageScale(lossGradient(delta) as tf.Tensor4D, null));
      delta = perImageScale(tf.add(delta, ascent) as tf.Tensor4D, options.epsilon);
    }
    return perturbed(delta);
  });
}
