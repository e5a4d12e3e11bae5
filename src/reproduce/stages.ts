import * as path from 'path';
import type { Adapter } from '../model/adapter-hook';
import { LoRA } from '../adapters';
import { evaluateMethod, type MethodContext, type MethodName, type MethodResult } from '../baselines';
import type * as tf from '@tensorflow/tfjs';
import type { EpisodeSource } from '../data/episodes';
import {
  evaluateEpisodeSource,
  flattenImages,
  type EvaluateOptions,
  type EvaluationResult,
  type FeatureFn,
  type MeanWithInterval,
} from '../evaluation';
import { metaTrain, type MetaTrainResult } from '../meta';
import type { VisionTransformer } from '../model/vision-transformer';
import type { RunControl } from '../progress/events';
import type { RunConfig } from './config';
import type { SurrogateSet } from '../surrogate/set';
import type { PipelineEpisodes } from './ports';

/** Mean patch tokens kept per surrogate image (all patches when unpruned). */
export function meanTokensKept(sets: readonly SurrogateSet[], patches: number): number {
  const counts = sets.flatMap((s) => (s.keptPatches ? s.keptPatches.map((k) => k.length) : s.targets.map(() => patches)));
  return counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length);
}

/**
 * Mean tuning-free prototype accuracy of `adapter` over an episode source (validation: never
 * meta-test). Where the source allows it, each distinct image's features are computed once for
 * this call (the adapter changes between calls during meta-training, so nothing is kept across
 * them): 100 episodes of 80 images draw far fewer distinct images.
 */
export async function prototypeAccuracy(
  backbone: VisionTransformer,
  adapter: Adapter | null,
  source: EpisodeSource & Pick<PipelineEpisodes, 'withFeatures'>,
  distance: RunConfig['metaTraining']['distance'],
): Promise<number> {
  const featureFn = (x: tf.Tensor4D) => backbone.forward(x, { adapter }).features;
  const { accuracies } = await evaluateFeatures(featureFn, source, { distance, run: 'validate' });
  return accuracies.reduce((a, b) => a + b, 0) / source.count;
}

/**
 * Tuning-free accuracy of `featureFn` on every episode of `source`: through its feature table where
 * the source has one (`key`: PipelineEpisodes.withFeatures), else episode by episode.
 */
async function evaluateFeatures(
  featureFn: FeatureFn,
  source: EpisodeSource & Pick<PipelineEpisodes, 'withFeatures'>,
  options: EvaluateOptions,
  key?: object,
): Promise<EvaluationResult> {
  return source.withFeatures
    ? evaluateEpisodeSource(flattenImages, await source.withFeatures(featureFn, key), options)
    : evaluateEpisodeSource(featureFn, source, options);
}

/**
 * A fresh meta-LoRA (metaTraining.rank and targets; by default the zoo's rank on q and v) meta-trained on the surrogate sets,
 * selected on the validation episodes; checkpoints in `workDir/meta-checkpoint.json`.
 */
export async function trainMetaLora(
  backbone: VisionTransformer,
  sets: readonly SurrogateSet[],
  config: RunConfig,
  validation: (EpisodeSource & Pick<PipelineEpisodes, 'withFeatures'>) | null,
  workDir: string,
  control: RunControl & { steps?: number; seed?: number; resume?: boolean },
): Promise<{ metaLora: LoRA; result: MetaTrainResult }> {
  const m = config.metaTraining;
  const metaLora = LoRA.create(backbone.config, {
    rank: m.rank ?? config.zoo.rank,
    targets: m.targets ?? ['q', 'v'],
    seed: control.seed ?? 1,
  });
  const result = await metaTrain(backbone, metaLora, sets, {
    steps: control.steps ?? m.steps,
    episode: { ways: config.evaluation.ways, shots: m.shots, queries: m.queries },
    patchGrid: backbone.config.imageSize / backbone.config.patchSize,
    interpolatedFraction: m.interpolatedFraction,
    distance: m.distance,
    logitScale: m.logitScale,
    flip: m.flip,
    seed: control.seed ?? 1,
    validate: validation ? (adapter) => prototypeAccuracy(backbone, adapter, validation, m.distance) : undefined,
    validateEvery: m.validateEvery,
    patience: m.patience,
    checkpointPath: path.join(workDir, 'meta-checkpoint.json'),
    checkpointEvery: m.checkpointEvery,
    resume: control.resume ?? true,
    onEvent: control.onEvent,
    signal: control.signal,
  });
  return { metaLora, result };
}

/**
 * A tuning-free row: prototype classification on backbone + `adapter` (null: the frozen backbone),
 * reported as `method`. A job on another process scores it as `scorer` of src/baselines with, for
 * a meta-LoRA, the file `meta` (evaluation-stage.ts).
 */
export interface TuningFreeRow {
  method: string;
  adapter: Adapter | null;
  scorer: MethodName;
  meta?: string;
}

/**
 * Each tuning-free row on the same episodes, with every distinct image's features computed once
 * per row when the source allows it (exact: the feature function is fixed), else episode by episode.
 * The row object is the key of its features (PipelineEpisodes.withFeatures): evaluated again with
 * the same `rows` and `backbone` on another list of the same data set (the 5-shot block after the
 * 1-shot one), a row computes only the images that list adds.
 */
export async function evaluateTuningFree(
  backbone: VisionTransformer,
  rows: readonly TuningFreeRow[],
  source: PipelineEpisodes,
  config: RunConfig,
  control: RunControl,
): Promise<(MeanWithInterval & { method: string; accuracies: number[]; seconds: number })[]> {
  const out = [];
  for (const row of rows) {
    const started = performance.now();
    const featureFn = (x: tf.Tensor4D) => backbone.forward(x, { adapter: row.adapter }).features;
    const options = { distance: config.metaTraining.distance, run: `evaluate ${row.method}`, ...control };
    const result = await evaluateFeatures(featureFn, source, options, row);
    out.push({
      method: row.method,
      mean: result.mean,
      ci95: result.ci95,
      n: result.episodes,
      accuracies: result.accuracies,
      seconds: (performance.now() - started) / 1000,
    });
  }
  return out;
}

/** Every method of `methods` on the same episodes; fine-tuning methods on the first `tunedEpisodes`. */
export async function compareMethods(
  context: MethodContext,
  methods: readonly string[],
  source: EpisodeSource,
  tunedEpisodes: number,
  config: RunConfig,
  control: RunControl,
  tuningFree: readonly string[],
): Promise<MethodResult[]> {
  const results: MethodResult[] = [];
  for (const method of methods) {
    const count = tuningFree.includes(method) ? source.count : Math.min(tunedEpisodes, source.count);
    results.push(
      await evaluateMethod(
        method,
        context,
        { count, episode: (i) => source.episode(i) },
        {
          distance: config.metaTraining.distance,
          tuning: { steps: config.baselines.tuningSteps, learningRate: config.baselines.learningRate },
          fullTuning: { steps: config.baselines.fullTuningSteps, learningRate: config.baselines.fullLearningRate },
          rank: config.zoo.rank,
          seed: config.evaluation.seed,
          ...control,
        },
      ),
    );
  }
  return results;
}
