import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import type { ClassInfo, ImageDataset, ImageRecord } from '../data/dataset';
import type { LabelledImages } from '../training/supervised';
import { SeededRandom } from '../random/seeded-random';

/** `records` of `dataset` labelled by the position of their class in `classIds`. */
export function labelledImages(dataset: ImageDataset, records: readonly ImageRecord[], classIds: readonly string[]): LabelledImages {
  const label = new Map(classIds.map((id, i) => [id, i]));
  const labels = records.map((r) => {
    const l = label.get(r.classId);
    if (l === undefined)
      throw new ConfigError(`labelledImages: image of class "${r.classId}" is not among the ${classIds.length} classes given`);
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

/** One labelled set from several, classes stacked in order (the second set's labels follow the first's). */
export function concatLabelled(parts: readonly LabelledImages[]): LabelledImages {
  if (parts.length === 0) throw new ConfigError('concatLabelled: no sets given');
  const offsets: { start: number; classOffset: number; part: LabelledImages }[] = [];
  let size = 0;
  let classes = 0;
  for (const part of parts) {
    offsets.push({ start: size, classOffset: classes, part });
    size += part.size;
    classes += part.classes;
  }
  const locate = (index: number) => {
    if (!Number.isInteger(index) || index < 0 || index >= size)
      throw new ConfigError(`concatLabelled: index ${index} outside 0..${size - 1}`);
    let k = offsets.length - 1;
    while (offsets[k].start > index) k -= 1;
    return { entry: offsets[k], local: index - offsets[k].start };
  };
  return {
    size,
    classes,
    pixels(indices) {
      return tf.tidy(
        () =>
          tf.concat(
            indices.map((index) => {
              const { entry, local } = locate(index);
              return entry.part.pixels([local]);
            }),
            0,
          ) as tf.Tensor4D,
      );
    },
    labels: (indices) =>
      indices.map((index) => {
        const { entry, local } = locate(index);
        return entry.classOffset + entry.part.labels([local])[0];
      }),
  };
}
