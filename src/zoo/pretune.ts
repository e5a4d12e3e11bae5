import * as tf from '@tensorflow/tfjs';
import { LoRA } from '../adapters/lora';
import { fitOnSupport } from '../training/fit-on-support';
import type { EpisodeTensors } from '../data/episodes';
import { episodeAccuracy } from '../evaluation/episode-accuracy';
import { labelsAsArray } from '../evaluation/prototypes';
import { LinearHead } from '../model/head';
import { denormalizeImages, normalizeImages } from '../model/preprocess';
import { loraSeed } from '../random/lora-seed';
import { SeededRandom } from '../random/seeded-random';
import { adversarialImages, type AdversarialOptions } from '../training/adversarial';
import { augmentShapes, type ShapeAugmentOptions } from '../training/shape-augment';
import type { VisionTransformer } from '../model/vision-transformer';
import type { TuningRecord } from './zoo-entry';
import type { ProjectionName } from '../model/weights';

export interface PretuneOptions {
  rank: number; // r of the LoRA on `targets` of every block
  targets?: ProjectionName[]; // default q and v (the paper's)
  steps: number; // full-batch Adam steps on the task's N·K training images
  learningRate: number;
  seed: number;
  augment?: ShapeAugmentOptions; // each step sees its own shape-augmented copy of the training images; default none
  adversarial?: AdversarialOptions; // each step trains on L2-PGD adversarial copies of its images (after augment); default none
  headInit?: 'random' | 'prototypes'; // the head's start: nn.Linear's (default) or the frozen backbone's class means (LinearHead.fromPrototypes)
  onStep?: (step: number, loss: number) => void;
}

/** LinearHead.fromPrototypes on the frozen backbone's features of `images`. */
function prototypeHead(backbone: VisionTransformer, images: tf.Tensor4D, labels: readonly number[], ways: number): LinearHead {
  const features = tf.tidy(() => backbone.forward(images).features);
  try {
    return LinearHead.fromPrototypes(features, labels, ways);
  } finally {
    features.dispose();
  }
}

/** Share of images whose head argmax is their label. */
function headAccuracy(backbone: VisionTransformer, lora: LoRA, head: LinearHead, images: tf.Tensor4D, labels: readonly number[]): number {
  const predicted = tf.tidy(() => tf.argMax(head.apply(backbone.forward(images, { adapter: lora }).features), 1).dataSync());
  return labels.filter((label, i) => predicted[i] === label).length / labels.length;
}

/**
 * Pre-tunes one LoRA of the zoo (method.md §1.1): a fresh LoRA (rank r on q, v; B = 0) and a
 * fresh head Linear(D → N) (with headInit 'prototypes': NN as a head, LinearHead.fromPrototypes) trained jointly with cross-entropy on an N-way task's support images
 * (`task.support`, normalised; with `augment`, each step on a fresh augmented copy, drawn from a
 * generator seeded by the LoRA's seed); the task's query images, other images of the same classes,
 * measure held-out accuracy, the LoRA's and NN's (frozen backbone prototypes) on the same images. The backbone stays frozen. The caller owns the LoRA and head.
 */
export function pretuneLora(
  backbone: VisionTransformer,
  task: EpisodeTensors,
  ways: number,
  options: PretuneOptions,
): { lora: LoRA; head: LinearHead; record: TuningRecord } {
  const started = Date.now();
  const supportLabels = labelsAsArray(task.supportLabels);
  const queryLabels = labelsAsArray(task.queryLabels);
  const lora = LoRA.create(backbone.config, { rank: options.rank, targets: options.targets ?? ['q', 'v'], seed: options.seed });
  const head =
    options.headInit === 'prototypes'
      ? prototypeHead(backbone, task.support, supportLabels, ways)
      : LinearHead.create(backbone.config.projectionDim, ways, options.seed);
  let finalLoss = Number.NaN;
  const { augment, adversarial } = options;
  const random = new SeededRandom(loraSeed(options.seed, 'augment'));
  const logitsOf = (images: tf.Tensor4D) => head.apply(backbone.forward(images, { adapter: lora }).features);
  const augmented = (images: tf.Tensor4D) =>
    augment ? normalizeImages(augmentShapes(denormalizeImages(images), random, augment)) : images;
  const batchOf = (images: tf.Tensor4D) =>
    adversarial ? adversarialImages(logitsOf, augmented(images), supportLabels, adversarial) : augmented(images);
  fitOnSupport(
    [...lora.trainableVariables(), ...head.trainableVariables()],
    logitsOf,
    task.support,
    supportLabels,
    { steps: options.steps, learningRate: options.learningRate },
    undefined,
    (step, loss) => {
      finalLoss = loss;
      options.onStep?.(step, loss);
    },
    batchOf,
  );
  const heldOut = queryLabels.length;
  const record: TuningRecord = {
    steps: options.steps,
    learningRate: options.learningRate,
    seed: options.seed,
    finalLoss,
    trainAccuracy: headAccuracy(backbone, lora, head, task.support, supportLabels),
    heldOutAccuracy: heldOut > 0 ? headAccuracy(backbone, lora, head, task.query, queryLabels) : null,
    nnHeldOutAccuracy: heldOut > 0 ? episodeAccuracy((images) => backbone.forward(images).features, task) : null,
    heldOutImages: heldOut,
    seconds: (Date.now() - started) / 1000,
  };
  return { lora, head, record };
}
