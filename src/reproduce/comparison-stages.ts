import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { UniformComposition } from '../adapters';
import { TUNING_FREE_METHODS, type MethodName } from '../baselines';
import { disposeEpisode, labelsAsArray, pairedDifference } from '../evaluation';
import { patchCount } from '../model/config';
import type { VisionTransformer } from '../model/vision-transformer';
import { disposeSurrogateSets } from '../surrogate/set';
import type { Zoo } from '../zoo';
import { ABLATION_PAIRS, ablationStatements, pairedComparisons, type AblationVariant } from './ablation';
import { metaLoraFile, saveMetaLora } from './artifacts';
import { pruningSchedule } from './config';
import { featureDiversity } from './diagnostics';
import { correctCounts, queriesPerEpisode } from './episode-scores';
import type { EvaluationStage } from './evaluation-stage';
import { mainSets } from './main-set';
import { pruningLabel } from './profiles';
import type { PruningRow, Table23Block } from './report';
import type { InversionStats, PipelineRun, TrainedVariants } from './run-stages';
import { meanTokensKept, trainMetaLora, type TuningFreeRow } from './stages';

/**
 * Evaluation stage (the Table 2/3 analogue): on the main domain's novel classes and the profile's
 * cross-domain sets, each number of shots, every tuning-free row (NN, uniform + NN, each variant's
 * meta-LoRA) on all episodes and the tuned methods on the first ones, through `comparisons`; with
 * the paired comparisons and the ablation's statements of each block, and the within-class
 * diversity of real images (the novel classes' first episode at the most shots). A set whose data
 * is not installed is noted and skipped.
 */
export async function evaluationBlocksStage(
  run: PipelineRun,
  backbone: VisionTransformer,
  zoo: Zoo,
  variants: TrainedVariants,
  comparisons: EvaluationStage,
): Promise<{ table23: Table23Block[]; ablation: string[]; realWithinClass?: number }> {
  const { config, profile, workDir } = run;
  const ev = config.evaluation;
  const main = mainSets(config);
  const table23: Table23Block[] = [];
  const uniform = UniformComposition.create(zoo.entries.map((z) => z.parameters));
  const tuningFreeRows: TuningFreeRow[] = [
    { method: 'nn', adapter: null, scorer: 'nn' },
    { method: 'uniform-nn', adapter: uniform, scorer: 'uniform-nn' },
    ...[...variants].map(([method, v]) => ({
      method,
      adapter: v.lora,
      scorer: 'lora-recycle' as const,
      meta: metaLoraFile(workDir, method),
    })),
  ];
  const tunedMethods = config.baselines.methods.filter((m) => !TUNING_FREE_METHODS.includes(m as MethodName));
  let realWithinClass: number | undefined;
  const ablation: string[] = [];
  for (const set of [main.novel, ...profile.crossDomainSets]) {
    for (const shots of ev.shots) {
      const source = await run.ports.episodes(set, { ways: ev.ways, shots, queries: ev.queries }, ev.episodes, ev.seed);
      if (!source) {
        run.notes.push(`${set}: data not installed, skipped.`);
        break;
      }
      if (set === main.novel && shots === Math.max(...ev.shots)) {
        const e = source.episode(0);
        realWithinClass = tf.tidy(() => featureDiversity(backbone.forward(e.support).features, labelsAsArray(e.supportLabels))).withinClass;
        disposeEpisode(e);
      }
      run.phase('evaluation', `${set} ${shots}-shot`);
      const all = await comparisons.block(
        tuningFreeRows,
        profile.tunesOn(set, shots) ? tunedMethods : [],
        source,
        config.baselines.episodes,
      );
      const accuracies = new Map(all.map((r) => [r.method as string, r.accuracies]));
      const nn = accuracies.get('nn')!;
      const queries = queriesPerEpisode(source);
      const rows = all.map((r) => ({
        method: r.method,
        mean: r.mean,
        ci95: r.ci95,
        n: r.n,
        seconds: r.seconds,
        ...(r.method === 'nn' ? {} : { vsNn: pairedDifference(r.accuracies, nn) }),
        correct: correctCounts(r.accuracies, queries),
      }));
      const paired = pairedComparisons(accuracies, ABLATION_PAIRS);
      table23.push({ set, shots, rows, paired, queries });
      ablation.push(
        ...ablationStatements({
          setting: `${set} 5-way ${shots}-shot`,
          vsNn: Object.fromEntries(rows.map((r) => [r.method, r.vsNn])),
          paired,
        }),
      );
    }
  }
  uniform.dispose();
  return { table23, ablation, realWithinClass };
}

/**
 * Pruning stage (the Table 4/5 analogue): the rows the ablation already measured on the whole zoo
 * (no pruning and its pruned variant, from the novel 1-shot block), then each of the profile's
 * pruning rows: the first LoRAs inverted with that pruning, a short meta-training, its meta-LoRA
 * kept in `<workDir>/pruning-<i>/` and scored on the novel 1-shot episodes through `comparisons`.
 */
export async function pruningStage(
  run: PipelineRun,
  backbone: VisionTransformer,
  zoo: Zoo,
  ablation: {
    variants: TrainedVariants;
    ablationPruning: Record<string, number> | null;
    inversionStats: ReadonlyMap<AblationVariant, InversionStats>;
  },
  table23: readonly Table23Block[],
  comparisons: EvaluationStage,
): Promise<PruningRow[]> {
  const { config, profile, workDir, control } = run;
  const ev = config.evaluation;
  const main = mainSets(config);
  const patches = patchCount(backbone.config);
  const { variants, ablationPruning, inversionStats } = ablation;
  const table45: PruningRow[] = [];
  const novelBlock = table23.find((b) => b.set === main.novel && b.shots === 1);
  if (ablationPruning && novelBlock) {
    for (const [variant, label, pruning] of [
      ['lora-recycle', 'none', {}],
      ['lora-recycle-pruned', pruningLabel(ablationPruning, backbone.config.depth), ablationPruning],
    ] as const) {
      const row = novelBlock.rows.find((r) => r.method === variant)!;
      table45.push({
        label: `${label} (whole zoo)`,
        pruning,
        accuracy: { mean: row.mean, ci95: row.ci95, n: row.n },
        ...inversionStats.get(variant)!,
        metaEpisodesPerSecond: variants.get(variant)!.result.episodesPerSecond,
        patchCount: patches,
      });
    }
  }
  const rows = profile.pruningRows(backbone.config.depth);
  const novelOneShot =
    rows.length > 0
      ? await run.ports.episodes(main.novel, { ways: ev.ways, shots: 1, queries: ev.queries }, profile.pruningEpisodes, ev.seed)
      : null;
  for (const row of rows) {
    run.phase('pruning', row.label);
    const dir = path.join(workDir, `pruning-${table45.length}`);
    const rowInverted = await run.ports.invert(
      backbone,
      zoo,
      zoo.entries.slice(0, profile.pruningLoras),
      config,
      pruningSchedule(row.pruning),
      path.join(dir, 'surrogates'),
      control,
    );
    const { metaLora: rowLora, result } = await trainMetaLora(backbone, rowInverted, config, null, dir, {
      ...control,
      steps: profile.pruningMetaSteps,
    });
    const rowFile = path.join(dir, 'meta-lora.safetensors'); // kept as the ablation's are; a remote runner's jobs read it
    saveMetaLora(rowFile, rowLora, result, { variant: `pruning ${row.label}` });
    const accuracy = novelOneShot ? [await comparisons.metaLora(rowLora, rowFile, novelOneShot)] : [];
    table45.push({
      label: row.label,
      pruning: row.pruning,
      accuracy: accuracy[0] ? { mean: accuracy[0].mean, ci95: accuracy[0].ci95, n: accuracy[0].n } : { mean: NaN, ci95: NaN, n: 0 },
      inversionIterationsPerSecond: rowInverted.reduce((s, set) => s + set.record.iterationsPerSecond, 0) / rowInverted.length,
      metaEpisodesPerSecond: result.episodesPerSecond,
      tokensKept: meanTokensKept(rowInverted, patches),
      patchCount: patches,
    });
    disposeSurrogateSets(rowInverted);
    rowLora.dispose();
  }
  return table45;
}
