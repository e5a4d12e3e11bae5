import * as tf from '@tensorflow/tfjs';
import type { EpisodeTensors } from '../data/episodes';
import { ShapeError } from '../errors';
import { type PrototypeDistance, labelsAsArray, prototypeLogits, prototypes } from './prototypes';

/** Maps normalised images [B, H, W, C] to features [B, D] (e.g. a frozen backbone's f(x)). */
export type FeatureFn = (images: tf.Tensor4D) => tf.Tensor2D;

export interface EpisodeAccuracyOptions {
  distance?: PrototypeDistance;
  /** Images per call of the feature function (bounds memory); default 100. */
  batchSize?: number;
}

/** featureFn over `images` in chunks of batchSize rows, concatenated: [B, D]. */
export function featuresInBatches(featureFn: FeatureFn, images: tf.Tensor4D, batchSize = 100): tf.Tensor2D {
  const total = images.shape[0];
  if (total <= batchSize) return tf.tidy(() => featureFn(images));
  return tf.tidy(() => {
    const parts: tf.Tensor2D[] = [];
    for (let start = 0; start < total; start += batchSize) {
      const size = Math.min(batchSize, total - start);
      parts.push(featureFn(tf.slice(images, [start, 0, 0, 0], [size, -1, -1, -1])));
    }
    return tf.concat(parts, 0);
  });
}

/**
 * Tuning-free prototype classification of one episode: fraction of queries whose nearest
 * prototype (largest −d) is their own class. Leaves no tensors behind.
 */
export function episodeAccuracy(featureFn: FeatureFn, episode: EpisodeTensors, options: EpisodeAccuracyOptions = {}): number {
  const queryLabels = labelsAsArray(episode.queryLabels);
  if (queryLabels.length !== episode.query.shape[0]) {
    throw new ShapeError(`episodeAccuracy: ${episode.query.shape[0]} query images but ${queryLabels.length} query labels`);
  }
  const supportLabels = labelsAsArray(episode.supportLabels);
  const ways = Math.max(...supportLabels) + 1;
  const predictions = tf.tidy(() => {
    const protos = prototypes(featuresInBatches(featureFn, episode.support, options.batchSize), supportLabels, ways);
    const logits = prototypeLogits(featuresInBatches(featureFn, episode.query, options.batchSize), protos, options.distance);
    return tf.argMax(logits, 1);
  });
  const predicted = predictions.dataSync();
  predictions.dispose();
  let correct = 0;
  queryLabels.forEach((label, i) => {
    if (predicted[i] === label) correct += 1;
  });
  return correct / queryLabels.length;
}
