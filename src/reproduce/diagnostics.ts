import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';

/**
 * Mean pairwise cosine distance (1 − cos) of features [B, D], over pairs of the same label
 * (withinClass) and of different labels (betweenClass). Surrogates that collapse to one image
 * per class show withinClass ≈ 0.
 */
export function featureDiversity(features: tf.Tensor2D, labels: readonly number[]): { withinClass: number; betweenClass: number } {
  if (features.rank !== 2 || features.shape[0] !== labels.length) {
    throw new ShapeError(`featureDiversity: expected features [B, D] with B = ${labels.length} labels, found [${features.shape}]`);
  }
  const cosine = tf.tidy(() => {
    const unit = tf.div(features, tf.add(tf.norm(features, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D; // [B, D]
    return tf.matMul(unit, unit, false, true); // [B, B]
  });
  const values = cosine.arraySync() as number[][];
  cosine.dispose();
  let within = 0;
  let withinCount = 0;
  let between = 0;
  let betweenCount = 0;
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const distance = 1 - values[i][j];
      if (labels[i] === labels[j]) {
        within += distance;
        withinCount += 1;
      } else {
        between += distance;
        betweenCount += 1;
      }
    }
  }
  return { withinClass: withinCount ? within / withinCount : 0, betweenClass: betweenCount ? between / betweenCount : 0 };
}

/** Averages a per-step history into at most `points` consecutive windows (the step of a window is its last step). */
export function windowedCurve<T extends { step: number }>(
  history: readonly T[],
  keys: readonly (keyof T)[],
  points = 20,
): (Record<string, number> & { step: number })[] {
  if (history.length === 0) return [];
  const size = Math.ceil(history.length / points);
  const out: (Record<string, number> & { step: number })[] = [];
  for (let start = 0; start < history.length; start += size) {
    const window = history.slice(start, start + size);
    const point: Record<string, number> & { step: number } = { step: window[window.length - 1].step };
    for (const key of keys) point[key as string] = window.reduce((s, h) => s + Number(h[key]), 0) / window.length;
    out.push(point);
  }
  return out;
}

/** Mean, min and max of a list (0s for an empty one). */
export function summary(values: readonly number[]): { mean: number; min: number; max: number } {
  if (values.length === 0) return { mean: 0, min: 0, max: 0 };
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, min: Math.min(...values), max: Math.max(...values) };
}

/** The median of a list (null for an empty one): the middle value, or the mean of the two middle ones. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
