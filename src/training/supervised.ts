import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import type { RunControl } from '../progress/events';
import { runSteps } from '../progress/run-steps';
import { type AugmentOptions, augmentPixels, DEFAULT_AUGMENT } from './augment';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { Adam, DEFAULT_ADAMW, type AdamOptions } from '../optim/adam';
import { warmupCosineRate } from '../optim/schedule';
import { SeededRandom } from '../random/seeded-random';

/** Images with class labels, read by index (a base-class split, a glyph set...). */
export interface LabelledImages {
  readonly size: number;
  readonly classes: number;
  /** Pixels in [0, 1]: [indices.length, H, W, C]; the caller disposes. */
  pixels(indices: readonly number[]): tf.Tensor4D;
  labels(indices: readonly number[]): number[];
}

/** What a training forward may use: the step's seeded generator and the fraction of the run done. */
export interface StepContext {
  random: SeededRandom;
  progress: number; // (step − 1) / totalSteps, in [0, 1)
}

/** A classifier as the supervised loop sees it: named parameters, optional buffers, logits. */
export interface TrainableClassifier {
  parameters: Record<string, tf.Variable>;
  /** Non-trained state saved in checkpoints (e.g. BatchNorm running statistics). */
  buffers?: Record<string, tf.Variable>;
  /**
   * Normalised images [B, H, W, C] → logits [B, classes]; `training` selects train-mode layers;
   * `step` (training only) carries the step's generator and progress for model-side randomness.
   */
  logits(images: tf.Tensor4D, training: boolean, step?: StepContext): tf.Tensor2D;
  /** Runs after every optimiser step (e.g. to move running statistics). */
  afterStep?(): void;
}

export interface SupervisedOptions extends RunControl {
  run: string;
  epochs: number;
  batchSize: number;
  peakLearningRate: number;
  floorLearningRate: number;
  warmupFraction: number; // of all steps
  adamw: AdamOptions; // with weight decay: AdamW
  augment: AugmentOptions | null; // null = no augmentation
  seed: number;
  /** Pixels in [0, 1] → model input (CLIP normalisation for our models). */
  normalize: (pixels: tf.Tensor4D) => tf.Tensor4D;
  /** Where state is saved every `checkpointEvery` steps, on a stop and at the end (runSteps); resumed from if present. */
  checkpointPath?: string;
  checkpointEvery: number;
}

export const DEFAULT_SUPERVISED: Omit<SupervisedOptions, 'run' | 'normalize'> = {
  epochs: 10,
  batchSize: 64,
  peakLearningRate: 1e-3,
  floorLearningRate: 1e-5,
  warmupFraction: 0.05,
  adamw: DEFAULT_ADAMW,
  augment: DEFAULT_AUGMENT,
  seed: 0,
  checkpointEvery: 200,
};

export interface SupervisedResult {
  steps: number; // steps done in this call (after a resume: only the new ones)
  totalSteps: number;
  seconds: number; // wall time of this call
  imagesPerSecond: number;
  lossHistory: number[]; // per step of this call
}

/**
 * Mini-batch training with cross-entropy, AdamW and one cosine decay with linear warm-up.
 * Deterministic given `seed`: the order of epoch e and the augmentation of step t come from
 * generators seeded by (seed, e) and (seed, t), so a resumed run continues exactly.
 */
export async function trainSupervised(
  model: TrainableClassifier,
  data: LabelledImages,
  options: SupervisedOptions,
): Promise<SupervisedResult> {
  const stepsPerEpoch = Math.floor(data.size / options.batchSize);
  if (stepsPerEpoch < 1) throw new ConfigError(`trainSupervised: batchSize ${options.batchSize} exceeds the ${data.size} training images`);
  const totalSteps = stepsPerEpoch * options.epochs;
  const schedule = {
    minRate: options.floorLearningRate,
    maxRate: options.peakLearningRate,
    cycleSteps: totalSteps, // one cycle, indexed by the 1-based step: warm-up from the first step, the floor at the last
    warmupSteps: Math.min(totalSteps - 1, Math.round(options.warmupFraction * totalSteps)),
  };
  const optimizer = new Adam(model.parameters, options.adamw);
  const savedState = () => ({ ...prefixed('param.', model.parameters), ...prefixed('buffer.', model.buffers ?? {}), ...optimizer.state() });
  const save = (step: number): string | null => {
    if (!options.checkpointPath) return null;
    saveCheckpoint(options.checkpointPath, savedState(), { run: options.run, step, totalSteps });
    return options.checkpointPath;
  };
  let done = 0;
  if (options.checkpointPath) {
    const resumed = loadCheckpoint(options.checkpointPath, savedState());
    if (resumed) {
      optimizer.step = resumed.step;
      done = resumed.step;
      options.onEvent?.({ kind: 'phase', run: options.run, phase: 'resumed', message: `from step ${done} of ${totalSteps}` });
    }
  }
  const started = Date.now();
  const firstStep = done;
  const lossHistory: number[] = [];
  let order: number[] = [];
  try {
    const loop = {
      run: options.run,
      total: totalSteps,
      done,
      checkpoint: save,
      checkpointEvery: options.checkpointEvery,
      onEvent: options.onEvent,
      signal: options.signal,
    };
    await runSteps(loop, (step) => {
      const epoch = Math.floor((step - 1) / stepsPerEpoch);
      const within = (step - 1) % stepsPerEpoch;
      if (within === 0 || order.length === 0) order = new SeededRandom(mix(options.seed, epoch)).permutation(data.size);
      const indices = order.slice(within * options.batchSize, (within + 1) * options.batchSize);
      const lr = warmupCosineRate(step, schedule);
      const context = { random: new SeededRandom(mix(options.seed + 7919, step)), progress: (step - 1) / totalSteps };
      const loss = trainStep(model, optimizer, data, indices, lr, context, options);
      lossHistory.push(loss);
      done = step;
      return { loss, lr, epoch: epoch + 1 };
    });
  } finally {
    optimizer.dispose();
  }
  const seconds = (Date.now() - started) / 1000;
  const steps = done - firstStep;
  return { steps, totalSteps, seconds, imagesPerSecond: (steps * options.batchSize) / Math.max(seconds, 1e-9), lossHistory };
}

function trainStep(
  model: TrainableClassifier,
  optimizer: Adam,
  data: LabelledImages,
  indices: number[],
  lr: number,
  context: StepContext,
  options: SupervisedOptions,
): number {
  const labels = data.labels(indices);
  const input = tf.tidy(() => {
    const pixels = data.pixels(indices);
    return options.normalize(options.augment ? augmentPixels(pixels, context.random, options.augment) : pixels);
  });
  const names = Object.keys(model.parameters);
  const { value, grads } = tf.variableGrads(
    () => {
      const logits = model.logits(input, true, context);
      const targets = tf.oneHot(tf.tensor1d(labels, 'int32'), logits.shape[1]);
      return tf.losses.softmaxCrossEntropy(targets, logits) as tf.Scalar;
    },
    names.map((n) => model.parameters[n]),
  );
  const byName: Record<string, tf.Tensor> = {};
  names.forEach((n) => {
    byName[n] = grads[model.parameters[n].name];
  });
  optimizer.apply(byName, lr);
  model.afterStep?.();
  const loss = value.dataSync()[0];
  tf.dispose([value, input, ...Object.values(grads)]);
  return loss;
}

/** Fraction of `indices` classified correctly (eval-mode layers, no augmentation). */
export function classifierAccuracy(
  model: TrainableClassifier,
  data: LabelledImages,
  indices: readonly number[],
  normalize: (p: tf.Tensor4D) => tf.Tensor4D,
  batchSize = 100,
): number {
  let correct = 0;
  for (let start = 0; start < indices.length; start += batchSize) {
    const chunk = indices.slice(start, start + batchSize);
    const labels = data.labels(chunk);
    const predicted = tf.tidy(() => tf.argMax(model.logits(normalize(data.pixels(chunk)), false), 1).dataSync());
    labels.forEach((label, i) => {
      if (predicted[i] === label) correct += 1;
    });
  }
  return correct / Math.max(1, indices.length);
}

function prefixed(prefix: string, record: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [prefix + k, v]));
}

/** A 32-bit seed from two integers (for per-epoch and per-step generators). */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
