import * as tf from '@tensorflow/tfjs';
import type { MimeBundle } from '../display/bundles';
import { normalizeImages } from '../model/preprocess';
import type { RecordedSurrogateSet, SurrogateRecord, SurrogateSet, Teacher } from '../surrogate/set';
import { inversionGalleryBundle } from './gallery';
import { resizedPixels, type InversionSnapshot } from './snapshot';
import type { InversionStep } from '../surrogate/set';

/** The losses of one iteration: the total and the unweighted terms (null: weight 0, not computed). */
export type { InversionStep };

export interface InversionResultData {
  pixels: tf.Tensor4D; // [B, H, W, C] in [0, 1]
  images: tf.Tensor4D; // [B, H, W, C] normalised
  masks: tf.Tensor4D; // [B, H, W, 1], 1 = pixel of a surviving patch (all ones without pruning)
  maskedPixels: tf.Tensor4D; // pixels ⊙ masks, in [0, 1]
  targets: number[]; // [B] class-major, K+Q per class
  keptPatches: number[][] | null; // [B][n] surviving patches of the final pruned forward; null without pruning
  targetConfidence: number[]; // [B] teacher p(y_i | x_i) on the final images (pruned forward when pruning)
  maxConfidence: number[]; // [B] teacher max_c p(c | x_i)
  teacherPredictions: number[]; // [B] teacher argmax_c p(c | x_i)
  history: InversionStep[];
  snapshots: InversionSnapshot[];
  steps: number; // iterations done
  totalSteps: number; // iterations asked for
  iterationsPerSecond: number; // over the optimisation iterations only
  seed: number; // of the pixel initialisation and the jitter
  teacher: Teacher;
  classNames: string[];
  patchSize: number;
  snapshotSide: number; // side of the images in snapshots and in the gallery
}

// The class carries the data's fields (declaration merging; the constructor copies them in).
export interface InversionResult extends Readonly<InversionResultData> {}

/**
 * Images inverted from one LoRA (method.md §1.3–1.4). Owns its four tensors (dispose()).
 * Shows itself as a gallery (snapshots, then the final images with masks and confidences) in
 * Jupyter kernels that follow the `Symbol.for('Jupyter.display')` convention.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: deliberate, see the interface above; the constructor copies every field in
export class InversionResult {
  constructor(data: InversionResultData) {
    Object.assign(this, data);
  }

  /** The surrogate set for meta-training: normalised masked images (a new tensor the caller owns). */
  toSurrogateSet(): SurrogateSet {
    return {
      images: normalizeImages(this.maskedPixels),
      targets: [...this.targets],
      keptPatches: this.keptPatches ? this.keptPatches.map((row) => [...row]) : null,
      teacher: this.teacher,
    };
  }

  /**
   * The product of this inversion (new tensors the caller owns; the teacher is shared): the
   * surrogate set with its pixels, masks (null without pruning) and record. `teacherLora` names
   * the LoRA inverted (zoo id or file).
   */
  toRecordedSurrogateSet(teacherLora: string): RecordedSurrogateSet {
    const masks = this.keptPatches ? this.masks.clone() : null;
    return { ...this.toSurrogateSet(), pixels: this.pixels.clone(), masks, record: this.surrogateRecord(teacherLora) };
  }

  /** How this inversion was made, as a surrogate set's record (plain data, copied). */
  surrogateRecord(teacherLora: string): SurrogateRecord {
    return {
      teacherLora,
      classNames: [...this.classNames],
      targetConfidence: [...this.targetConfidence],
      maxConfidence: [...this.maxConfidence],
      teacherPredictions: [...this.teacherPredictions],
      steps: this.steps,
      totalSteps: this.totalSteps,
      iterationsPerSecond: this.iterationsPerSecond,
      history: this.history.map((step) => ({ ...step })),
      seed: this.seed,
    };
  }

  /** The gallery bundle: every snapshot, then the final images with masks and target confidence. */
  displayBundle(): MimeBundle {
    const [, size, , channels] = this.pixels.shape;
    const side = this.snapshotSide;
    const final = resizedPixels(this.pixels, side);
    const pixels = Float32Array.from(final.dataSync() as Float32Array);
    final.dispose();
    const ways = this.classNames.length;
    const perClass = this.targets.length / ways;
    const last = this.snapshots[this.snapshots.length - 1];
    const earlier = last && last.step === this.steps ? this.snapshots.slice(0, -1) : this.snapshots;
    return inversionGalleryBundle({
      title: `Inverted images: ${ways} classes × ${perClass}, ${this.steps}/${this.totalSteps} steps`,
      classNames: this.classNames,
      targets: this.targets,
      channels,
      patchGrid: size / this.patchSize,
      frames: [...earlier, { step: this.steps, side, pixels, keptPatches: this.keptPatches, confidence: this.targetConfidence }],
    });
  }

  [Symbol.for('Jupyter.display')](): MimeBundle {
    return this.displayBundle();
  }

  dispose(): void {
    tf.dispose([this.pixels, this.images, this.masks, this.maskedPixels]);
  }
}
