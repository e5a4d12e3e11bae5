import type { MethodName, MethodResult } from '../baselines';
import type { DatasetSpec } from '../data/dataset-spec';
import type { EpisodeList } from '../data/episodes';
import { CancelledError, ConfigError } from '../errors';
import { meanWithInterval } from '../evaluation/interval';
import type { VisionTransformer } from '../model/vision-transformer';
import { splitEpisodeList, type EvaluateMethodJob, type JobRunner } from '../parallel';
import type { RunControl } from '../progress/events';
import type { RunConfig } from './config';
import { withJobBackbone } from './job-backbone';
import type { PipelineEpisodes } from './ports';

/** Episodes per job: tuning-free methods take milliseconds an episode, tuned ones up to seconds. */
export const EPISODES_PER_METHOD_JOB = { tuningFree: 50, tuned: 5 } as const;

/**
 * A row of a comparison that is not a method under its own name: `method` scored with its own
 * meta-LoRA file, reported as `label` (the reproduction's ablation rows are lora-recycle with
 * the oracle's, the noise's or the pruned inversion's meta-LoRA).
 */
export interface ComparisonRow {
  label: string;
  method: MethodName;
  meta?: string; // meta-LoRA file; default the comparison's
}

/** What the workers read: the backbone, the zoo directory, the default meta-LoRA file, the episodes' data set. */
export interface ComparisonFiles {
  backbone: string;
  zoo?: string;
  meta?: string;
  dataset: DatasetSpec;
}

/** A row's result: MethodResult under the row's label. */
export type ComparisonResult = Omit<MethodResult, 'method'> & { method: string };

const asRow = (row: string | ComparisonRow): ComparisonRow => (typeof row === 'string' ? { label: row, method: row as MethodName } : row);

/**
 * The jobs of compareMethods: per row (a method's name, or a ComparisonRow), its first `count`
 * episodes of `list` (all for tuning-free methods, `tunedEpisodes` for the others) cut into blocks
 * of EPISODES_PER_METHOD_JOB, one evaluate-method job each, with compareMethods' options from `config`.
 */
export function comparisonJobs(
  files: ComparisonFiles,
  rows: readonly (string | ComparisonRow)[],
  list: EpisodeList,
  tunedEpisodes: number,
  config: RunConfig,
  tuningFree: readonly string[],
): EvaluateMethodJob[] {
  const options = {
    distance: config.metaTraining.distance,
    tuning: { steps: config.baselines.tuningSteps, learningRate: config.baselines.learningRate },
    fullTuning: { steps: config.baselines.fullTuningSteps, learningRate: config.baselines.fullLearningRate },
    rank: config.zoo.rank,
    seed: config.evaluation.seed,
  };
  return rows.map(asRow).flatMap(({ label, method, meta }) => {
    const free = tuningFree.includes(method);
    const count = free ? list.episodes.length : Math.min(tunedEpisodes, list.episodes.length);
    if (count === 0) throw new ConfigError(`evaluating ${label}: no episodes to evaluate`);
    const perJob = free ? EPISODES_PER_METHOD_JOB.tuningFree : EPISODES_PER_METHOD_JOB.tuned;
    const blocks = splitEpisodeList({ ...list, episodes: list.episodes.slice(0, count) }, Math.ceil(count / perJob));
    let first = 0;
    return blocks.map((block, b) => {
      const job: EvaluateMethodJob = {
        kind: 'evaluate-method',
        id: `evaluate ${label} block ${b + 1}/${blocks.length}`,
        method,
        backbone: files.backbone,
        zoo: files.zoo,
        meta: meta ?? files.meta,
        dataset: files.dataset,
        episodes: block,
        first,
        options,
      };
      first += block.episodes.length;
      return job;
    });
  });
}

/**
 * compareMethods with every row's episodes evaluated as evaluate-method jobs of `runner`: the
 * same accuracies, in episode order, as the one-process run. A row is a method's name or a
 * ComparisonRow (another label and meta-LoRA file). The jobs read the backbone (withJobBackbone:
 * a random one saved as `<model.dir>/.backbone/` for a remote runner), the zoo directory, the
 * meta-LoRA files and the data set and episode list `source` came from. Step events as
 * compareMethods' ("evaluate <label>", the mean so far, counted as blocks finish); `seconds` of a
 * row is its jobs' time summed. A job that fails rejects, naming it; a stop returns nothing
 * (CancelledError).
 */
export async function compareMethodsAsJobs(
  runner: JobRunner,
  model: { backbone: VisionTransformer; zoo?: string; meta?: string; dir: string },
  rows: readonly (string | ComparisonRow)[],
  source: PipelineEpisodes,
  tunedEpisodes: number,
  config: RunConfig,
  control: RunControl,
  tuningFree: readonly string[],
): Promise<ComparisonResult[]> {
  const origin = source.origin;
  if (!origin)
    throw new ConfigError(
      `evaluating as jobs (${runner.description}): this episode source names no data set and episode list the jobs could load`,
    );
  const labels = rows.map((r) => asRow(r).label);
  if (new Set(labels).size !== labels.length)
    throw new ConfigError(`evaluating as jobs: each row needs its own label, found ${labels.join(', ')}`);
  return withJobBackbone(runner, config, model.backbone, model.dir, async (backbone) => {
    const files: ComparisonFiles = { backbone, zoo: model.zoo, meta: model.meta, dataset: origin.dataset };
    const perRow = rows.map((row) => comparisonJobs(files, [row], origin.list, tunedEpisodes, config, tuningFree));
    const jobs = perRow.flat();
    const labelOf = new Map(perRow.flatMap((mine, r) => mine.map((j) => [j.id, labels[r]] as const)));
    const sofar = new Map<string, number[]>(labels.map((l) => [l, []]));
    const totals = new Map(perRow.map((mine, r) => [labels[r], mine.reduce((n, j) => n + j.episodes.episodes.length, 0)]));
    const outcome = await runner.run(jobs, {
      signal: control.signal,
      onEvent: (event) => {
        const label = labelOf.get(event.run);
        if (event.kind !== 'step' || label === undefined) {
          control.onEvent?.(event);
          return;
        }
        const done = sofar.get(label)!;
        done.push(event.metrics.accuracy);
        control.onEvent?.({
          kind: 'step',
          run: `evaluate ${label}`,
          step: done.length,
          totalSteps: totals.get(label)!,
          metrics: { accuracy: meanWithInterval(done).mean },
        });
      },
    });
    if (outcome.stopped || outcome.results.some((r) => r === null))
      throw new CancelledError(
        `evaluation as jobs stopped after ${outcome.results.filter((r) => r !== null).length} of ${jobs.length} jobs`,
      );
    let first = 0;
    return perRow.map((mine, r) => {
      const blocks = outcome.results.slice(first, first + mine.length); // in job order: the row's blocks, in episode order
      first += mine.length;
      const accuracies = blocks.flatMap((b) => b!.accuracies);
      return { method: labels[r], ...meanWithInterval(accuracies), accuracies, seconds: blocks.reduce((s, b) => s + b!.seconds, 0) };
    });
  });
}
