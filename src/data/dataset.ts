import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';

/**
 * pretrain: the backbone's pretraining classes; base: the classes the LoRA zoo is tuned on (and the
 * oracle's real episodes); validation selects; novel / test are meta-test. As in the paper, the
 * backbone never sees the zoo's tasks, and meta-test classes are seen by neither.
 */
export type Split = 'pretrain' | 'base' | 'validation' | 'novel' | 'test';

/** Every split, in reading order (files, cards). */
export const SPLITS: readonly Split[] = ['pretrain', 'base', 'validation', 'novel', 'test'];

/** Splits whose images some model trains on: a held-out image must never copy one of theirs. */
export const TRAINING_SPLITS: readonly Split[] = ['pretrain', 'base'];

export interface ClassInfo {
  id: string; // stable across builds, e.g. "emoji:1f600" or "glyph:0416"
  name: string;
  split: Split;
  category?: string;
}

/** One image of a class: `source` is who drew it (emoji artist set, font). */
export interface ImageRecord {
  classId: string;
  source: string;
  index: number; // row in the dataset's image store
}

/** The one dataset interface: classes with splits, images per class, pixels on demand. */
export interface ImageDataset {
  readonly name: string;
  readonly imageSize: number; // square, RGB
  readonly classes: readonly ClassInfo[];
  imagesOf(classId: string): readonly ImageRecord[];
  /** HWC RGB in [0, 1]. */
  pixels(record: ImageRecord): Float32Array;
  /** Licences of the image sources, for the data card. */
  readonly licences: Readonly<Record<string, string>>;
}

export function classesOf(dataset: ImageDataset, split: Split): ClassInfo[] {
  return dataset.classes.filter((c) => c.split === split);
}

/**
 * What a consumer does to pixels [B, H, W, 3] in [0, 1] before use, e.g. the model's
 * normalizeImages. As in timm, transforms belong to the model side: the data layer only applies one.
 */
export type ImageTransform = (pixels01: tf.Tensor4D) => tf.Tensor4D;

/** Pixels [n, H, W, 3] in [0, 1] of the records, in order (the model's normalisation is the caller's). */
export function pixelTensor(dataset: ImageDataset, records: readonly ImageRecord[]): tf.Tensor4D {
  if (records.length === 0) throw new ConfigError(`pixelTensor: no images given (dataset ${dataset.name})`);
  const s = dataset.imageSize;
  const size = s * s * 3;
  const data = new Float32Array(records.length * size);
  records.forEach((r, i) => data.set(dataset.pixels(r), i * size));
  return tf.tensor4d(data, [records.length, s, s, 3]);
}

/** A loader's option that must be a positive integer (image size, limits), or a ConfigError naming it. */
export function positiveIntegerOption(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${name} must be a positive integer, found ${String(value)}`);
  return value;
}
