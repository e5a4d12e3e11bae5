import * as tf from '@tensorflow/tfjs';
import type { Adapter } from '../model/adapter-hook';
import { normalizeImages } from '../model/preprocess';

/** Anything that maps features [B, D] to class logits [B, N] (a LoRA's LinearHead). */
export interface ClassifierHead {
  apply(features: tf.Tensor2D): tf.Tensor2D;
}

/** The teacher of a surrogate set: backbone + that LoRA + its head, a model apart from the student. */
export interface Teacher {
  adapter: Adapter;
  head: ClassifierHead;
}

/**
 * Images inverted from one pre-tuned LoRA (method.md §1.3), as meta-training reads them.
 * `keptPatches` lists, per image, the patches that survived pruning (the sparse tokens fed
 * to the student); null means every patch.
 */
export interface SurrogateSet {
  images: tf.Tensor4D; // [B, H, W, C] normalised (masked where pruned)
  targets: readonly number[]; // [B] class of each image under the teacher's head, 0..N−1
  keptPatches: readonly (readonly number[])[] | null; // [B][n] patch indices, row-major
  /**
   * [B] where each image comes from, when two sets can hold the same image (real images: dataset
   * and store index); an episode never takes one id twice. Absent for inverted images (each unique).
   */
  imageIds?: readonly string[];
  teacher: Teacher;
}

/** How a surrogate set was made: plain data, kept beside its tensors (surrogate.json). */
export interface SurrogateRecord {
  teacherLora: string; // the LoRA inverted: its zoo id or file
  classNames: string[]; // [N] the classes behind head outputs 0..N−1
  targetConfidence: number[]; // [B] teacher p(y_i | x_i), the image's own target class
  maxConfidence: number[]; // [B] teacher max_c p(c | x_i), whichever class it predicts
  teacherPredictions: number[]; // [B] teacher argmax_c p(c | x_i)
  steps: number; // inversion iterations done (0 for real images and noise)
  totalSteps: number; // iterations asked for
  iterationsPerSecond: number; // 0 when nothing was optimised
  history: InversionStep[]; // losses of each iteration
  // real images only (src/reproduce/real-images.ts): per class, asked for and taken (each image once);
  // capped when a class held fewer than asked and every class was cut to the smallest one's count
  askedPerClass?: number;
  imagesPerClass?: number;
  capped?: boolean;
  seed?: number; // the inversion's seed (noise and jitter); absent for real images and in files written before it was kept
}

/**
 * The product of inversion, one per LoRA: the surrogate set meta-training reads, with the pixels
 * it was made from and its record. Files hold it (src/surrogate/file.ts); the CLI, the parallel
 * jobs and the reproduction pass it around. It owns its tensors and its teacher's adapter (not
 * the head, which belongs to the zoo): disposeSurrogateSets.
 */
export interface RecordedSurrogateSet extends SurrogateSet {
  pixels: tf.Tensor4D; // [B, H, W, C] in [0, 1], not masked
  masks: tf.Tensor4D | null; // [B, H, W, 1] 1 = pixel of a surviving patch; null without pruning
  record: SurrogateRecord;
}

/** Frees the sets' tensors and each teacher's adapter. */
export function disposeSurrogateSets(sets: readonly RecordedSurrogateSet[]): void {
  for (const set of sets) {
    tf.dispose([set.images, set.pixels, ...(set.masks ? [set.masks] : [])]);
    set.teacher.adapter.dispose();
  }
}

/** The normalised student input of pixels in [0, 1]: masked where `masks` is given. */
export function studentImages(pixels: tf.Tensor4D, masks: tf.Tensor4D | null): tf.Tensor4D {
  return tf.tidy(() => normalizeImages(masks ? (tf.mul(pixels, masks) as tf.Tensor4D) : pixels));
}

/** One iteration of an inversion, as recorded with the surrogate set it made. */
export interface InversionStep {
  step: number; // 1-based
  loss: number; // the weighted total that was minimised
  crossEntropy: number;
  prior: number | null;
  tv: number | null;
  l2: number | null;
  diversity?: number | null; // R_div; absent in sets recorded before the term existed
  unadapted?: number | null; // CE of the head on the backbone without the LoRA; absent in sets recorded before the term existed
  ink?: number | null; // mean ink of the images; absent in sets recorded before the term existed
  confidence: number; // mean teacher p(y | x) on the jittered batch
  patchTokens: number; // patch tokens that reached the last layer (fewer once pruning is on)
}
