import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../errors';
import { matMul2d } from '../ops';

/** d(f(x), c): the paper's Euclidean distance, or the released code's squared one (method.md §1.5). */
export type PrototypeDistance = 'euclidean' | 'squaredEuclidean';

/**
 * Added under the square root of the Euclidean distance: d = √(‖q − c‖² + ε).
 * Without it the gradient of √· is infinite when a query coincides with a prototype
 * (e.g. in 1-shot episodes whose query is its own support image). ε = 1e-8 shifts d by at
 * most 1e-4, far below the feature scale (‖f‖ ≈ 1–100).
 */
export const DISTANCE_EPSILON = 1e-8;

/** An episode's labels as a plain array, whichever form they came in. */
export function labelsAsArray(labels: tf.Tensor1D | readonly number[]): number[] {
  return Array.isArray(labels) ? [...labels] : Array.from((labels as tf.Tensor1D).dataSync());
}

/**
 * Prototype c_i = mean feature of class i's support examples.
 * supportFeatures [N·K, D], supportLabels int [N·K] in 0..ways−1 → [ways, D].
 * Differentiable w.r.t. the features (a one-hot average, no gather).
 */
export function prototypes(supportFeatures: tf.Tensor2D, supportLabels: tf.Tensor1D | readonly number[], ways: number): tf.Tensor2D {
  if (supportFeatures.rank !== 2) {
    throw new ShapeError(`prototypes: supportFeatures must be [N·K, D], found shape [${supportFeatures.shape}]`);
  }
  if (!Number.isInteger(ways) || ways < 1) throw new ConfigError(`prototypes: ways must be a positive integer, found ${ways}`);
  const labels = labelsAsArray(supportLabels);
  const rows = supportFeatures.shape[0];
  if (labels.length !== rows) {
    throw new ShapeError(`prototypes: ${rows} support features but ${labels.length} support labels`);
  }
  const counts = new Array<number>(ways).fill(0);
  for (const label of labels) {
    if (!Number.isInteger(label) || label < 0 || label >= ways) {
      throw new ConfigError(`prototypes: support labels must be integers in 0..${ways - 1}, found ${label}`);
    }
    counts[label] += 1;
  }
  const empty = counts.indexOf(0);
  if (empty >= 0) throw new ConfigError(`prototypes: class ${empty} has no support example`);
  return tf.tidy(() => {
    // averaging[i, j] = 1/K_i if example j belongs to class i: c = averaging · F   [ways, N·K]·[N·K, D]
    const averaging = new Float32Array(ways * rows);
    labels.forEach((label, j) => {
      averaging[label * rows + j] = 1 / counts[label];
    });
    return matMul2d(tf.tensor2d(averaging, [ways, rows]), supportFeatures);
  });
}

/**
 * Logits of the prototype classifier: logit[q, i] = −d(f(x_q), c_i), so that
 * p(y = i | x_q) = softmax_i(−d). queryFeatures [Q, D], prototypes [N, D] → [Q, N].
 * Differences are formed directly (no ‖a‖² − 2ab + ‖b‖² expansion, which cancels badly in
 * float32); the Euclidean form adds DISTANCE_EPSILON under the root. Differentiable.
 */
export function prototypeLogits(queryFeatures: tf.Tensor2D, protos: tf.Tensor2D, distance: PrototypeDistance = 'euclidean'): tf.Tensor2D {
  if (queryFeatures.rank !== 2 || protos.rank !== 2 || queryFeatures.shape[1] !== protos.shape[1]) {
    throw new ShapeError(
      `prototypeLogits: expected queryFeatures [Q, D] and prototypes [N, D], found [${queryFeatures.shape}] and [${protos.shape}]`,
    );
  }
  if (distance !== 'euclidean' && distance !== 'squaredEuclidean') {
    throw new ConfigError(`prototypeLogits: distance must be 'euclidean' or 'squaredEuclidean', found '${String(distance)}'`);
  }
  return tf.tidy(() => {
    const diff = tf.sub(tf.expandDims(queryFeatures, 1), tf.expandDims(protos, 0)); // [Q, N, D]
    const squared = tf.sum(tf.square(diff), 2) as tf.Tensor2D; // [Q, N]
    const d = distance === 'euclidean' ? tf.sqrt(tf.add(squared, DISTANCE_EPSILON)) : squared;
    return tf.neg(d) as tf.Tensor2D;
  });
}
