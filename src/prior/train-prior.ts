import * as tf from '@tensorflow/tfjs';
import { flattenTree, variablesOf } from '../model/tensor-tree';
import {
  DEFAULT_SUPERVISED,
  type LabelledImages,
  type SupervisedOptions,
  type SupervisedResult,
  type TrainableClassifier,
  classifierAccuracy,
  trainSupervised,
} from '../training/supervised';
import type { RunControl } from '../progress/events';
import { PriorCnn, type PriorCnnConfig } from './prior-cnn';

/** PyTorch's BatchNorm momentum: running ← (1 − m)·running + m·batch. */
export const BATCH_NORM_MOMENTUM = 0.1;

export interface PriorTrainingOptions extends Partial<Omit<SupervisedOptions, 'run' | 'normalize'>>, RunControl {
  normalize: (pixels: tf.Tensor4D) => tf.Tensor4D;
  seed?: number;
}

/**
 * Trains a fresh PriorCnn (`config.classes` = data.classes) as a classifier; BatchNorm uses
 * batch statistics and moves its running statistics with momentum 0.1, running variance
 * unbiased (as PyTorch). Returns the trained prior (plain tensors) and the run record.
 */
export async function trainPrior(
  config: PriorCnnConfig,
  data: LabelledImages,
  options: PriorTrainingOptions,
): Promise<{ prior: PriorCnn; result: SupervisedResult }> {
  const seed = options.seed ?? 0;
  const initial = PriorCnn.random({ ...config, classes: data.classes }, seed);
  const weights = variablesOf(initial.weights);
  initial.dispose();
  const prior = new PriorCnn({ ...config, classes: data.classes }, weights);
  const model = priorAsClassifier(prior);
  const result = await trainSupervised(model, data, { ...DEFAULT_SUPERVISED, augment: null, ...options, seed, run: 'train-prior' });
  return { prior, result };
}

/** The loop's view of a prior whose tensors are tf.Variables. */
export function priorAsClassifier(prior: PriorCnn): TrainableClassifier {
  const all = flattenTree(prior.weights) as Record<string, tf.Variable>;
  const isBuffer = (name: string) => /running(Mean|Variance)$/.test(name);
  const parameters = Object.fromEntries(Object.entries(all).filter(([n]) => !isBuffer(n)));
  const buffers = Object.fromEntries(Object.entries(all).filter(([n]) => isBuffer(n)));
  let pending: tf.Tensor1D[][] = []; // [mean, unbiased variance] per block of the last training batch
  return {
    parameters,
    buffers,
    logits(images, training) {
      if (!training) return prior.forward(images, 'eval').logits;
      const { logits, statistics } = prior.forward(images, 'train');
      const [b, h, w] = images.shape;
      tf.dispose(pending.flat());
      pending = statistics.map((s, i) => {
        const size = (b * h * w) / 4 ** i; // elements per channel at block i (one 2×2 pool per block)
        return [tf.keep(s.mean.clone()), tf.keep(tf.mul(s.variance, size / (size - 1)))] as tf.Tensor1D[];
      });
      return logits;
    },
    afterStep() {
      tf.tidy(() => {
        prior.weights.blocks.forEach((block, i) => {
          const [mean, variance] = pending[i];
          const m = BATCH_NORM_MOMENTUM;
          (block.batchNorm.runningMean as tf.Variable).assign(tf.add(tf.mul(block.batchNorm.runningMean, 1 - m), tf.mul(mean, m)));
          (block.batchNorm.runningVariance as tf.Variable).assign(
            tf.add(tf.mul(block.batchNorm.runningVariance, 1 - m), tf.mul(variance, m)),
          );
        });
      });
      tf.dispose(pending.flat());
      pending = [];
    },
  };
}

/** Classification accuracy of a prior on `indices` of `data` (eval mode). */
export function priorAccuracy(
  prior: PriorCnn,
  data: LabelledImages,
  indices: readonly number[],
  normalize: (p: tf.Tensor4D) => tf.Tensor4D,
): number {
  return classifierAccuracy(priorAsClassifier(prior), data, indices, normalize);
}
