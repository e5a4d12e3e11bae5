import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import { patchCount, TINY_VIT, type ViTConfig } from '../model/config';
import { LinearHead } from '../model/head';
import { normalizeImages } from '../model/preprocess';
import { VisionTransformer } from '../model/vision-transformer';
import type { RunControl } from '../progress/events';
import {
  DEFAULT_SUPERVISED,
  type LabelledImages,
  type SupervisedOptions,
  type SupervisedResult,
  type TrainableClassifier,
  classifierAccuracy,
  trainSupervised,
} from '../training/supervised';
import { flattenTree, variablesOf } from '../model/tensor-tree';
import type { SeededRandom } from '../random/seeded-random';

export interface PretrainOptions extends Partial<Omit<SupervisedOptions, 'run' | 'normalize'>>, RunControl {
  config?: ViTConfig; // default TINY_VIT
  seed?: number;
  /**
   * Fraction of patch tokens each training image keeps, drawn at random per image (FLIP-style
   * token dropping through the sparse-token forward): ~1/ratio faster steps and an augmentation.
   * Evaluation always uses all tokens. Default 1 (no dropping).
   */
  tokenKeepRatio?: number;
  /** The last fraction of steps trains on all tokens (FLIP's unmasked tuning); default 0.2. */
  fullTokenFraction?: number;
}

export interface PretrainResult {
  backbone: VisionTransformer; // weights are tf.Variables
  head: LinearHead; // [projectionDim, classes]
  record: SupervisedResult;
}

/**
 * Supervised pretraining of a fresh ViT + linear head on `data` (pixels in [0, 1]) with
 * augmentation, AdamW and a cosine schedule (issue 3, "Pretrained backbone").
 * Resumes from options.checkpointPath when that file exists.
 */
export async function pretrainBackbone(data: LabelledImages, options: PretrainOptions = {}): Promise<PretrainResult> {
  const config = options.config ?? TINY_VIT;
  const seed = options.seed ?? 0;
  const initial = VisionTransformer.random(config, seed);
  const backbone = new VisionTransformer(config, variablesOf(initial.weights));
  const head = LinearHead.create(config.projectionDim, data.classes, seed + 1);
  const record = await trainSupervised(
    backboneClassifier(backbone, head, options.tokenKeepRatio ?? 1, options.fullTokenFraction ?? 0.2),
    data,
    {
      ...DEFAULT_SUPERVISED,
      ...options,
      seed,
      run: 'pretrain-backbone',
      normalize: normalizeImages,
    },
  );
  return { backbone, head, record };
}

/** The loop's view of backbone + head: parameters named "vit.<path>" and "head.weight|bias". */
export function backboneClassifier(
  backbone: VisionTransformer,
  head: LinearHead,
  tokenKeepRatio = 1,
  fullTokenFraction = 0,
): TrainableClassifier {
  if (!(tokenKeepRatio > 0 && tokenKeepRatio <= 1)) throw new ConfigError(`tokenKeepRatio must be in (0, 1], found ${tokenKeepRatio}`);
  const patches = patchCount(backbone.config);
  const kept = Math.max(1, Math.round(tokenKeepRatio * patches));
  const vit = flattenTree(backbone.weights) as Record<string, tf.Variable>;
  const parameters: Record<string, tf.Variable> = {};
  for (const [name, v] of Object.entries(vit)) parameters[`vit.${name}`] = v;
  parameters['head.weight'] = head.weight;
  parameters['head.bias'] = head.bias;
  return {
    parameters,
    logits: (images, training, step) => {
      if (!training || !step || kept === patches || step.progress >= 1 - fullTokenFraction)
        return head.apply(backbone.forward(images).features);
      const patchPositions = randomPatchPositions(step.random, images.shape[0], patches, kept);
      return head.apply(backbone.forward(images, { patchPositions }).features);
    },
  };
}

/** For each of `batch` images, `kept` of its `patches` patch indices drawn from `random`, ascending: int32 [batch, kept], the forward's patchPositions. */
export function randomPatchPositions(random: SeededRandom, batch: number, patches: number, kept: number): tf.Tensor2D {
  const rows = Array.from({ length: batch }, () =>
    random
      .permutation(patches)
      .slice(0, kept)
      .sort((a, b) => a - b),
  );
  return tf.tensor2d(rows, [batch, kept], 'int32');
}

/** Base-class accuracy of backbone + head on `indices` (no augmentation). */
export function backboneAccuracy(backbone: VisionTransformer, head: LinearHead, data: LabelledImages, indices: readonly number[]): number {
  return classifierAccuracy(backboneClassifier(backbone, head), data, indices, normalizeImages);
}
