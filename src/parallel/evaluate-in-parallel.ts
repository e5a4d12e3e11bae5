import * as os from 'os';
import type { BackendInfo } from '../backend/select';
import { episodeSource, type EpisodeList } from '../data/episodes';
import { CancelledError, ConfigError } from '../errors';
import type { EpisodeAccuracyOptions } from '../evaluation/episode-accuracy';
import type { EvaluationResult } from '../evaluation/evaluate-episodes';
import { meanWithInterval } from '../evaluation/interval';
import { normalizeImages } from '../model/preprocess';
import { loadDatasetSpec, type DatasetSpec } from '../data/dataset-spec';
import { resolveExecution, type ExecutionChoice, type ExecutionMode } from './execution-choice';
import { runnerFor, type JobRunner } from './job-runner';
import type { EvaluateEpisodesJob, EvaluateEpisodesResult } from './jobs';
import type { PoolOutcome, WorkerPoolOptions } from './pool';

/**
 * `parts` contiguous slices of the list (sizes differ by at most one, none empty), each a valid
 * EpisodeList with the same header; concatenated they are the list.
 */
export function splitEpisodeList(list: EpisodeList, parts: number): EpisodeList[] {
  if (!Number.isInteger(parts) || parts < 1) throw new ConfigError(`splitEpisodeList: parts must be a positive integer, found ${parts}`);
  const total = list.episodes.length;
  const count = Math.min(parts, total);
  return Array.from({ length: count }, (_, i) => {
    const start = Math.floor((i * total) / count);
    const end = Math.floor(((i + 1) * total) / count);
    return { ...list, episodes: list.episodes.slice(start, end) };
  });
}

export interface ParallelEvaluationOptions extends WorkerPoolOptions, EpisodeAccuracyOptions {
  lora?: string; // LoRA file added inside the backbone's forward
  run?: string; // name in progress events, default "evaluate"
  chunks?: number; // contiguous slices of the list, one job each; default the number of workers (or CPUs)
}

/** A finished evaluation: one accuracy per episode of the list, in list order. */
export interface ParallelEvaluationResult extends EvaluationResult {
  backends: BackendInfo[]; // the backend each worker selected (in-process: this thread's)
}

export interface EpisodeListEvaluationOptions extends ParallelEvaluationOptions {
  /** Overrides executionFor('evaluate'): "in-process" (this thread, one chunk) or "workers". */
  execution?: ExecutionMode;
}

export interface EpisodeListEvaluationResult extends ParallelEvaluationResult {
  execution: ExecutionChoice; // how it ran, and why
}

/**
 * evaluateEpisodeSource over worker threads: the list is cut into contiguous chunks, one
 * evaluate-episodes job each, and the accuracies are put back in list order, so they are
 * those of a single-process evaluation on the same backend. The dataset is loaded here first
 * (building its cache once, and checking the list belongs to it). Step events count finished
 * episodes over the whole list (run = options.run); other events are passed on unchanged. A
 * stopped evaluation (options.signal) throws CancelledError naming the episodes finished.
 */
export async function evaluateInParallel(
  backbone: string,
  dataset: DatasetSpec,
  list: EpisodeList,
  options: ParallelEvaluationOptions = {},
): Promise<ParallelEvaluationResult> {
  return evaluateAs('workers', backbone, dataset, list, options);
}

/**
 * The same evaluation run as executionFor('evaluate') says for this machine (or
 * options.execution): in worker threads (evaluateInParallel), or in this thread as one job of
 * the same code on this thread's backend. Same accuracies, order and events either way.
 */
export async function evaluateEpisodeList(
  backbone: string,
  dataset: DatasetSpec,
  list: EpisodeList,
  options: EpisodeListEvaluationOptions = {},
): Promise<EpisodeListEvaluationResult> {
  const execution = resolveExecution('evaluate', options.execution);
  return { ...(await evaluateAs(execution.mode, backbone, dataset, list, options)), execution };
}

function evaluateAs(
  mode: ExecutionMode,
  backbone: string,
  dataset: DatasetSpec,
  list: EpisodeList,
  options: ParallelEvaluationOptions,
): Promise<ParallelEvaluationResult> {
  const chunks = options.chunks ?? (mode === 'workers' ? (options.workers ?? os.availableParallelism()) : 1);
  const { workers, backend, threadsPerWorker } = options;
  return evaluateThrough(runnerFor(mode, { workers, backend, threadsPerWorker }), backbone, dataset, list, { ...options, chunks });
}

/**
 * The evaluation of evaluateInParallel with the jobs run by `runner`: the list cut into
 * `options.chunks` (default 1) contiguous jobs, accuracies put back in list order, step events
 * counted over the whole list. The dataset is loaded here first (checking the list fits it).
 */
export async function evaluateThrough(
  runner: JobRunner,
  backbone: string,
  dataset: DatasetSpec,
  list: EpisodeList,
  options: ParallelEvaluationOptions,
): Promise<ParallelEvaluationResult> {
  if (list.episodes.length === 0) throw new ConfigError('evaluating episodes: the episode list holds no episodes');
  episodeSource(await loadDatasetSpec(dataset), list, normalizeImages); // throws early if the list does not fit the data
  const run = options.run ?? 'evaluate';
  const chunks = splitEpisodeList(list, options.chunks ?? 1);
  const jobs: EvaluateEpisodesJob[] = chunks.map((episodes, i) => ({
    kind: 'evaluate-episodes',
    id: `${run} chunk ${i + 1}/${chunks.length}`,
    backbone,
    lora: options.lora,
    dataset,
    episodes,
    distance: options.distance,
    batchSize: options.batchSize,
  }));
  const jobIds = new Set(jobs.map((j) => j.id));
  const finished: number[] = [];
  const outcome = await runner.run(jobs, {
    signal: options.signal,
    onEvent: (event) => {
      if (event.kind !== 'step' || !jobIds.has(event.run)) {
        options.onEvent?.(event);
        return;
      }
      finished.push(event.metrics.accuracy);
      options.onEvent?.({
        kind: 'step',
        run,
        step: finished.length,
        totalSteps: list.episodes.length,
        metrics: { accuracy: event.metrics.accuracy, meanAccuracy: meanWithInterval(finished).mean },
      });
    },
  });
  if (outcome.stopped || outcome.results.some((r) => r === null)) {
    throw new CancelledError(`${run} stopped after ${finished.length} of ${list.episodes.length} episodes; nothing saved`);
  }
  return merge(outcome);
}

/** The jobs' accuracies concatenated: the chunks are contiguous slices, in list order. */
function merge(outcome: PoolOutcome<EvaluateEpisodesResult>): ParallelEvaluationResult {
  const accuracies = outcome.results.flatMap((result) => result!.accuracies);
  const { mean, ci95 } = meanWithInterval(accuracies);
  return { accuracies, mean, ci95, episodes: accuracies.length, backends: outcome.backends };
}
