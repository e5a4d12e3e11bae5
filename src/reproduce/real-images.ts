import * as tf from '@tensorflow/tfjs';
import { LoRA } from '../adapters/lora';
import type { ImageDataset, ImageRecord } from '../data/dataset';
import { normalizeImages } from '../model/preprocess';
import { ConfigError } from '../errors';
import type { VisionTransformer } from '../model/vision-transformer';
import { SeededRandom } from '../random/seeded-random';
import type { ZooEntry } from '../zoo';
import type { RecordedSurrogateSet } from '../surrogate/set';

/** What realImageSet does when a class of the LoRA holds fewer real images than asked for. */
export interface RealImageOptions {
  /**
   * false: throw a ConfigError naming the LoRA, the class, how many were asked and how many exist.
   * true: take min(perClass, images of the LoRA's smallest class) of every class, so the set keeps
   * equal images per class (recorded as record.imagesPerClass, record.capped).
   * Never cycles: an image is in the set at most once.
   */
  cap: boolean;
}

/**
 * `perClass` distinct real images of each of `entry`'s classes (drawn without replacement with
 * `seed`; fewer only under `options.cap`), labelled by their position in the LoRA's task, with the
 * LoRA as teacher: the oracle's stand-in for an inversion, same shape and same teacher, so
 * meta-training runs unchanged on it. The record's targetConfidence is the teacher's softmax on each
 * real image's own class, its maxConfidence and teacherPredictions the largest softmax and its
 * class; nothing was optimised. record.askedPerClass, imagesPerClass and capped say how many images
 * per class were asked for and taken; set.imageIds names each image (dataset and store index).
 */
export function realImageSet(
  backbone: VisionTransformer,
  dataset: ImageDataset,
  entry: ZooEntry,
  perClass: number,
  seed: number,
  options: RealImageOptions,
): RecordedSurrogateSet {
  if (!entry.head) throw new ConfigError(`LoRA "${entry.id}" has no task head`);
  if (!Number.isInteger(perClass) || perClass < 1)
    throw new ConfigError(`realImageSet: perClass must be a positive integer, found ${perClass}`);
  const byClass = entry.classIds.map((classId) => {
    const images = dataset.imagesOf(classId);
    if (images.length === 0)
      throw new ConfigError(`realImageSet: class "${classId}" of LoRA "${entry.id}" has no images in ${dataset.name}`);
    if (images.length < perClass && !options.cap) {
      throw new ConfigError(
        `realImageSet: LoRA "${entry.id}" asks for ${perClass} real images of class "${classId}", ${dataset.name} has ${images.length}; ` +
          'ask for fewer, or pass { cap: true } to take as many as its smallest class has',
      );
    }
    return images;
  });
  const imagesPerClass = Math.min(perClass, ...byClass.map((images) => images.length));
  const random = new SeededRandom(seed);
  const records: ImageRecord[] = [];
  const targets: number[] = [];
  byClass.forEach((images, label) => {
    const order = random.permutation(images.length); // without replacement: each image at most once
    for (let i = 0; i < imagesPerClass; i++) {
      records.push(images[order[i]]);
      targets.push(label);
    }
  });
  const s = dataset.imageSize;
  const pixels = tf.tidy(() => {
    const data = new Float32Array(records.length * s * s * 3);
    records.forEach((r, i) => data.set(dataset.pixels(r), i * s * s * 3));
    return tf.tensor4d(data, [records.length, s, s, 3]);
  });
  const images = tf.tidy(() => normalizeImages(pixels));
  const teacher = { adapter: LoRA.fromParameters(entry.parameters, { trainable: false }), head: entry.head };
  const probabilities = tf.tidy(() => tf.softmax(teacher.head.apply(backbone.forward(images, { adapter: teacher.adapter }).features)));
  const rows = probabilities.arraySync() as number[][];
  probabilities.dispose();
  const record = {
    teacherLora: entry.id,
    classNames: [...entry.classIds],
    targetConfidence: rows.map((p, i) => p[targets[i]]),
    maxConfidence: rows.map((p) => Math.max(...p)),
    teacherPredictions: rows.map((p) => p.indexOf(Math.max(...p))),
    steps: 0,
    totalSteps: 0,
    iterationsPerSecond: 0,
    history: [],
    askedPerClass: perClass,
    imagesPerClass,
    capped: imagesPerClass < perClass,
  };
  const imageIds = records.map((r) => `${dataset.name}#${r.index}`);
  return { images, pixels, masks: null, targets, keptPatches: null, imageIds, teacher, record };
}
