import * as tf from '@tensorflow/tfjs';
import type { LoraParameters } from '../adapters/lora-parameters';
import type { LinearHead } from '../model/head';

/** How a LoRA of the zoo was pre-tuned, kept in its file and in the zoo manifest. */
export interface TuningRecord {
  steps: number;
  learningRate: number;
  seed: number;
  finalLoss: number; // cross-entropy on its training images after the last step
  trainAccuracy: number; // on its N·K training images
  heldOutAccuracy: number | null; // on other images of the same classes (null when none were left)
  /**
   * NN on the same held-out images: prototypes of the N·K training images under the frozen
   * backbone, no LoRA. What the LoRA must beat to hold knowledge the backbone lacks (the paper's
   * premise). Absent in zoos tuned before it was recorded.
   */
  nnHeldOutAccuracy?: number | null;
  heldOutImages: number;
  seconds: number;
}

/**
 * One pre-tuned LoRA (method.md §1.1): its factors, its task head Linear(D → N) with bias, the
 * dataset class ids behind head outputs 0..N−1, and how it was tuned (null for LoRAs tuned
 * elsewhere, e.g. imported from PEFT). The entry owns its tensors.
 */
export interface ZooEntry {
  id: string;
  parameters: LoraParameters;
  head: LinearHead | null;
  classIds: string[];
  record: TuningRecord | null;
}

export function disposeZooEntry(entry: ZooEntry): void {
  tf.dispose(entry.parameters.factors.flatMap((f) => [f.a, f.b]));
  entry.head?.dispose();
}

/** The tuning seconds the entries' records give, summed; undefined where no entry records its tuning. */
export function recordedTuningSeconds(entries: readonly ZooEntry[]): number | undefined {
  const records = entries.flatMap((entry) => (entry.record ? [entry.record.seconds] : []));
  return records.length === 0 ? undefined : records.reduce((a, b) => a + b, 0);
}
