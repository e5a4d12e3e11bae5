import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { LoRA } from '../adapters';
import { ConfigError } from '../errors';
import type { MetaTrainResult } from '../meta';
import { patchCount } from '../model/config';
import type { VisionTransformer } from '../model/vision-transformer';
import type { RunControl } from '../progress/events';
import { disposeSurrogateSets, type RecordedSurrogateSet } from '../surrogate/set';
import type { Zoo } from '../zoo';
import { ABLATION_VARIANTS, zooKnowledge, type AblationVariant } from './ablation';
import { metaDir, saveArtifacts, surrogateDir } from './artifacts';
import { pruningSchedule, type RunConfig } from './config';
import { featureDiversity, median, summary } from './diagnostics';
import { writeInversionFigure } from './inversion-figure';
import { meanInkMatch } from './ink-match';
import { mainSets } from './main-set';
import type { PipelineEpisodes, PipelinePorts } from './ports';
import type { ReproductionProfile } from './profiles';
import { meanTokensKept, prototypeAccuracy, trainMetaLora } from './stages';

/**
 * What every stage of one reproduction shares: the ports, the profile and its configuration, the
 * run folder (each stage keeps its files there and resumes from them), the report's notes (in the
 * order the stages add them), and `phase`, which starts a stage's clock and reports it.
 */
export interface PipelineRun {
  readonly ports: PipelinePorts;
  readonly profile: ReproductionProfile;
  readonly config: RunConfig;
  readonly workDir: string;
  readonly control: RunControl;
  readonly notes: string[];
  phase(name: string, message?: string): void;
}

/** A meta-LoRA, the images it was meta-trained on (freed by artifactsStage) and its training's result. */
export interface TrainedVariant {
  lora: LoRA;
  images: RecordedSurrogateSet[];
  result: MetaTrainResult;
}

/** LoRA Recycle's meta-LoRA first, then the ablation's, in the order they were trained. */
export type TrainedVariants = Map<AblationVariant, TrainedVariant>;

/** Zoo stage: the configuration's backbone and its LoRA zoo in `<workDir>/zoo` (built there, or loaded and extended). */
export async function zooStage(run: PipelineRun): Promise<{ backbone: VisionTransformer; zoo: Zoo }> {
  run.phase('backbone');
  const backbone = await run.ports.loadBackbone(run.config);
  run.phase('zoo', `${run.config.zoo.size} LoRAs`);
  const zoo = await run.ports.zoo(backbone, run.config, path.join(run.workDir, 'zoo'), run.control);
  return { backbone, zoo };
}

/** One variant's surrogate sets of the whole zoo, inverted into (or read back from) its directory of the run folder. */
function invertVariant(
  run: PipelineRun,
  backbone: VisionTransformer,
  zoo: Zoo,
  variant: AblationVariant,
  inversion: RunConfig['inversion'],
  pruning: Record<number, number>,
): Promise<RecordedSurrogateSet[]> {
  return run.ports.invert(
    backbone,
    zoo,
    zoo.entries,
    { ...run.config, inversion },
    pruning,
    surrogateDir(run.workDir, variant),
    run.control,
  );
}

/** Inversion stage: LoRA Recycle's surrogate sets, one per zoo LoRA, with the configuration's pruning. */
export function inversionStage(run: PipelineRun, backbone: VisionTransformer, zoo: Zoo): Promise<RecordedSurrogateSet[]> {
  const inversion = run.config.inversion;
  run.phase('inversion', `${zoo.entries.length} LoRAs × ${inversion.steps} steps`);
  return invertVariant(run, backbone, zoo, 'lora-recycle', inversion, pruningSchedule(inversion.pruning));
}

/**
 * Meta-training stage: the validation episodes that select every meta-LoRA of the run (null when
 * the main domain has no validation split: noted, the last meta-LoRA is kept), and LoRA Recycle's
 * meta-LoRA trained on `inverted` (checkpoints in the run folder).
 */
export async function metaTrainingStage(
  run: PipelineRun,
  backbone: VisionTransformer,
  inverted: RecordedSurrogateSet[],
): Promise<{ validation: PipelineEpisodes | null; recycle: TrainedVariant }> {
  const { config } = run;
  const ev = config.evaluation;
  const validation = await run.ports.episodes(
    mainSets(config).validation,
    { ways: ev.ways, shots: config.metaTraining.shots, queries: ev.queries },
    config.metaTraining.validationEpisodes,
    ev.seed + 1,
  );
  if (!validation) run.notes.push('No validation split available: the last meta-LoRA was kept (no selection).');
  run.phase('meta-training', `${config.metaTraining.steps} steps`);
  const { metaLora, result } = await trainMetaLora(
    backbone,
    inverted,
    config,
    validation,
    metaDir(run.workDir, 'lora-recycle'),
    run.control,
  );
  return { validation, recycle: { lora: metaLora, images: inverted, result } };
}

/**
 * The oracle's meta-training configuration: the run's, unless its real-image sets were capped
 * below the K + Q images per class an episode draws (each real image is used at most once, and
 * an emoji class has at most 12 drawings); then its episodes take the queries the sets hold. Both
 * facts go into the report's notes.
 */
function oracleMetaConfig(config: RunConfig, sets: readonly RecordedSurrogateSet[], notes: string[]): RunConfig {
  const counts = sets.map((set) => set.record.imagesPerClass ?? Number.POSITIVE_INFINITY);
  const fewest = Math.min(...counts);
  const capped = sets.filter((set) => set.record.capped).length;
  if (capped > 0) {
    notes.push(
      `Oracle: ${capped} of ${sets.length} LoRAs have a class with fewer real images than the ${sets[0].record.askedPerClass} an inversion makes; each such LoRA's classes were cut to its smallest class (at least ${fewest} images each), never repeating an image.`,
    );
  }
  const m = config.metaTraining;
  if (m.shots + m.queries <= fewest) return config;
  const queries = fewest - m.shots;
  if (queries < 1)
    throw new ConfigError(
      `oracle: the real-image sets hold ${fewest} images per class, too few for ${m.shots}-shot episodes with at least one query`,
    );
  notes.push(
    `Oracle: meta-training episodes draw ${m.shots} + ${queries} real images per class instead of ${m.shots} + ${m.queries}, the most the capped sets hold without repeating an image.`,
  );
  return { ...config, metaTraining: { ...m, queries } };
}

/**
 * Ablation stage: the same meta-training on other images with the same teachers (ablation.ts):
 * the oracle's real images, the noise the inversion starts from, and (profiles that name one) the
 * inversion with the ablation's pruning. `variants` starts with `recycle`; `ablationPruning` is
 * the profile's for this backbone (null: no pruned variant).
 */
export async function ablationStage(
  run: PipelineRun,
  backbone: VisionTransformer,
  zoo: Zoo,
  recycle: TrainedVariant,
  validation: PipelineEpisodes | null,
): Promise<{ variants: TrainedVariants; ablationPruning: Record<string, number> | null }> {
  const { config, workDir } = run;
  const variants: TrainedVariants = new Map([['lora-recycle', recycle]]);
  const ablationPruning = run.profile.ablationPruning(backbone.config.depth);
  const sources: [AblationVariant, () => Promise<RecordedSurrogateSet[]>][] = [
    [
      'oracle',
      async () => {
        const out: RecordedSurrogateSet[] = [];
        for (const entry of zoo.entries) out.push(await run.ports.realImages(backbone, entry, config));
        return out;
      },
    ],
    ['noise', () => invertVariant(run, backbone, zoo, 'noise', { ...config.inversion, steps: 0 }, {})],
    ...(ablationPruning
      ? [
          [
            'lora-recycle-pruned',
            () => invertVariant(run, backbone, zoo, 'lora-recycle-pruned', config.inversion, pruningSchedule(ablationPruning)),
          ] as [AblationVariant, () => Promise<RecordedSurrogateSet[]>],
        ]
      : []),
  ];
  for (const [variant, images] of sources) {
    run.phase(`ablation: ${variant}`, ABLATION_VARIANTS[variant]);
    const sets = await images();
    const variantConfig = variant === 'oracle' ? oracleMetaConfig(config, sets, run.notes) : config;
    const trained = await trainMetaLora(backbone, sets, variantConfig, validation, metaDir(workDir, variant), run.control);
    variants.set(variant, { lora: trained.metaLora, images: sets, result: trained.result });
  }
  return { variants, ablationPruning };
}

/** Inversion throughput and tokens kept of one variant's images. */
export interface InversionStats {
  inversionIterationsPerSecond: number;
  tokensKept: number;
}

/** What the diagnostics stage measures, before the images are freed. */
export interface RunDiagnostics {
  diversity: ReturnType<typeof featureDiversity>; // of LoRA Recycle's first three surrogate sets
  inversionStats: Map<AblationVariant, InversionStats>;
  knowledge: ReturnType<typeof zooKnowledge>;
  validationNn: number | null; // NN on the validation episodes, scored as they score the meta-LoRAs
  targetConfidenceBySource: Record<string, ReturnType<typeof summary>>;
  medianTargetConfidence: number | null;
  inkMatchBySource: Record<string, number> | null; // meanInkMatch of each variant's images against the oracle's real ones; null without them
}

/** Diagnostics stage: the surrogate sets' diversity and teacher confidence, throughput, the zoo's knowledge, NN on validation. */
export async function diagnosticsStage(
  run: PipelineRun,
  backbone: VisionTransformer,
  zoo: Zoo,
  variants: TrainedVariants,
  validation: PipelineEpisodes | null,
): Promise<RunDiagnostics> {
  const { config } = run;
  const inverted = variants.get('lora-recycle')!.images;
  const patches = patchCount(backbone.config);
  run.phase('diagnostics');
  const diversity = tf.tidy(() => {
    const first = inverted.slice(0, 3);
    const features = tf.concat(
      first.map((set) => backbone.forward(set.images).features),
      0,
    ) as tf.Tensor2D;
    const labels = first.flatMap((set, s) => set.targets.map((t) => s * config.evaluation.ways + t));
    return featureDiversity(features, labels);
  });
  const inversionStats = new Map(
    [...variants].map(([variant, v]) => [
      variant,
      {
        inversionIterationsPerSecond: v.images.reduce((s, set) => s + set.record.iterationsPerSecond, 0) / v.images.length,
        tokensKept: meanTokensKept(v.images, patches),
      },
    ]),
  );
  const knowledge = zooKnowledge(zoo.entries.map((z) => z.record));
  const validationNn = validation ? await prototypeAccuracy(backbone, null, validation, config.metaTraining.distance) : null;
  const targetConfidenceBySource = Object.fromEntries(
    [...variants].map(([variant, v]) => [variant, summary(v.images.flatMap((set) => set.record.targetConfidence))]),
  );
  const medianTargetConfidence = median(inverted.flatMap((set) => set.record.targetConfidence));
  const real = variants.get('oracle')?.images;
  const inkMatchBySource = real ? Object.fromEntries([...variants].map(([variant, v]) => [variant, meanInkMatch(v.images, real)])) : null;
  return { diversity, inversionStats, knowledge, validationNn, targetConfidenceBySource, medianTargetConfidence, inkMatchBySource };
}

/**
 * Artifacts stage: every variant's meta-LoRA and images kept in the run folder (saveArtifacts), the
 * inversion figure written as `<outDir>/<figureFile>` (unless `write` is false); then the images are freed.
 */
export function artifactsStage(
  run: PipelineRun,
  zoo: Zoo,
  variants: TrainedVariants,
  figure: { outDir: string; file: string; write: boolean },
): { artifacts: string[]; figureCaption: ReturnType<typeof writeInversionFigure> } {
  run.phase('artifacts', run.workDir);
  const artifacts = saveArtifacts(run.workDir, variants);
  const figureCaption = writeInversionFigure(path.join(figure.outDir, figure.file), zoo.entries, variants, 3, figure.write);
  for (const v of variants.values()) disposeSurrogateSets(v.images);
  return { artifacts, figureCaption };
}
