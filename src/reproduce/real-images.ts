import * as tf from '@tensorflow/tfjs';
import { LoRA } from '../adapters/lora';
import type { ImageDataset, ImageRecord } from '../data/dataset';
import { normalizeImages } from '../model/preprocess';
import { ConfigError } from '../errors';
import type { VisionTransformer } from '../model/vision-transformer';
import { SeededRandom } from '../random/seeded-random';
import type { ZooEntry } from '../zoo';
import type { RecordedSurrogateSet } from '../surrogate/set';

/**
 * `perClass` real images of each of `entry`'s classes (drawn with `seed`, cycling when a class has
 * fewer), labelled by their position in the LoRA's task, with the LoRA as teacher: the oracle's
 * stand-in for an inversion, same shape and same teacher, so meta-training runs unchanged on it.
 * The record's targetConfidence is the teacher's softmax on each real image's own class, its
 * maxConfidence and teacherPredictions the largest softmax and its class; nothing was optimised.
 */
export function realImageSet(backbone: VisionTransformer, dataset: ImageDataset, entry: ZooEntry, perClass: number, seed: number): RecordedSurrogateSet {
  if (!entry.head) throw new ConfigError(`LoRA "${entry.id}" has no task head`);
  const random = new SeededRandom(seed);
  const records: ImageRecord[] = [];
  const targets: number[] = [];
  entry.classIds.forEach((classId, label) => {
    const images = dataset.imagesOf(classId);
    if (images.length === 0) throw new ConfigError(`realImageSet: class "${classId}" of LoRA "${entry.id}" has no images in ${dataset.name}`);
    const order = random.permutation(images.length);
    for (let i = 0; i < perClass; i++) {
      records.push(images[order[i % images.length]]);
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
    teacherLora: entry.id, classNames: [...entry.classIds],
    targetConfidence: rows.map((p, i) => p[targets[i]]), maxConfidence: rows.map((p) => Math.max(...p)),
    teacherPredictions: rows.map((p) => p.indexOf(Math.max(...p))),
    steps: 0, totalSteps: 0, iterationsPerSecond: 0, history: [],
  };
  return { images, pixels, masks: null, targets, keptPatches: null, teacher, record };
}
