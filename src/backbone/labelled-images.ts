import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import type { ClassInfo, ImageDataset, ImageRecord } from '../data/dataset';
import type { LabelledImages } from './supervised';
import { SeededRandom } from '../random/seeded-random';

/** `records` of `dataset` labelled by the position of their class in `classIds`. */
export function labelledImages(dataset: ImageDataset, records: readonly ImageRecord[], classIds: readonly string[]): LabelledImages {
  const label = new Map(classIds.map((id, i) => [id, i]));
  const labels = records.map((r) => {
    const l = label.get(r.classId);
    if (l === undefined) throw new ConfigError(`labelledImages: image of class "${r.classId}" is not among the ${classIds.length} classes given`);
    return l;
  });
  const s = dataset.imageSize;
  const size = s * s * 3;
  return {
    size: records.length,
    classes: classIds.length,
    pixels(indices) {
      const data = new Float32Array(indices.length * size);
      indices.forEach((index, i) => data.set(dataset.pixels(records[index]), i * size));
      return tf.tensor4d(data, [indices.length, s, s, 3]);
    },
    labels: (indices) => indices.map((i) => labels[i]),
  };
}

export interface HoldoutSplit {
  classIds: string[];
  train: LabelledImages;
  heldOut: LabelledImages; // one image per class (a drawing by an artist/font not trained on for that class)
}

/**
 * All images of `classes`, with `holdoutPerClass` images per class (chosen with `seed`) kept
 * out of training to measure classification accuracy on unseen drawings of known classes.
 * Classes with fewer than holdoutPerClass + 1 images are used for training only.
 */
export function holdoutSplit(dataset: ImageDataset, classes: readonly ClassInfo[], holdoutPerClass = 1, seed = 0): HoldoutSplit {
  const random = new SeededRandom(seed);
  const train: ImageRecord[] = [];
  const heldOut: ImageRecord[] = [];
  for (const c of classes) {
    const images = dataset.imagesOf(c.id);
    const order = random.permutation(images.length);
    const hold = images.length > holdoutPerClass ? holdoutPerClass : 0;
    order.forEach((j, rank) => (rank < hold ? heldOut : train).push(images[j]));
  }
  const classIds = classes.map((c) => c.id);
  return { classIds, train: labelledImages(dataset, train, classIds), heldOut: labelledImages(dataset, heldOut, classIds) };
}
