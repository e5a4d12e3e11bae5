import type { MethodName, MethodResult } from '../baselines';
import type { DatasetSpec } from '../data/dataset-spec';
import type { EpisodeList } from '../data/episodes';
import { CancelledError, ConfigError } from '../errors';
import { meanWithInterval } from '../evaluation/interval';
import { splitEpisodeList, type EvaluateMethodJob } from '../parallel';
import type { RunControl } from '../progress/events';
import type { RunConfig } from './config';

/** Episodes per job: tuning-free methods take milliseconds an episode, tuned ones up to seconds. */
export const EPISODES_PER_METHOD_JOB = { tuningFree: 50, tuned: 5 } as const;

/**
 * The jobs of compareMethods: per method, its first `count` episodes of `list` (all for
 * tuning-free methods, `tunedEpisodes` for the others) cut into blocks of EPISODES_PER_METHOD_JOB,
 * one evaluate-method job each, with compareMethods' options from `config`.
 */
export function comparisonJobs(
  files: { backbone: string; zoo?: string; meta?: string; dataset: DatasetSpec }, methods: readonly string[], list: EpisodeList,
  tunedEpisodes: number, config: RunConfig, tuningFree: readonly string[],
): EvaluateMethodJob[] {
  const options = {
    distance: config.metaTraining.distance,
    tuning: { steps: config.baselines.tuningSteps, learningRate: config.baselines.learningRate },
    fullTuning: { steps: config.baselines.fullTuningSteps, learningRate: config.baselines.fullLearningRate },
    rank: config.zoo.rank,
    seed: config.evaluation.seed,
  };
  return methods.flatMap((method) => {
    const free = tuningFree.includes(method);
    const count = free ? list.episodes.length : Math.min(tunedEpisodes, list.episodes.length);
    if (count === 0) throw new ConfigError(`evaluating ${method}: no episodes to evaluate`);
    const perJob = free ? EPISODES_PER_METHOD_JOB.tuningFree : EPISODES_PER_METHOD_JOB.tuned;
    const blocks = splitEpisodeList({ ...list, episodes: list.episodes.slice(0, count) }, Math.ceil(count / perJob));
    let first = 0;
    return blocks.map((block, b) => {
      const job: EvaluateMethodJob = {
        kind: 'evaluate-method', id: `evaluate ${method} block ${b + 1}/${blocks.length}`, method: method as MethodName,
        backbone: files.backbone, zoo: files.zoo, meta: files.meta, dataset: files.dataset, episodes: block, first, options,
      };
      first += block.episodes.length;
      return job;
    });
  });
}

/**
 * compareMethods with every method's episodes evaluated as evaluate-method jobs on the queues of
 * `control.redis` (worker processes on any host): the same accuracies, in episode order, as the
 * one-process run. Step events as compareMethods' ("evaluate <method>", the mean so far, counted
 * as blocks finish); `seconds` of a method is its workers' time summed. A job that fails after
 * its retries throws a WorkerError naming it; a stop returns nothing (CancelledError).
 */
export async function compareMethodsOnQueue(
  files: { backbone: string; zoo?: string; meta?: string; dataset: DatasetSpec }, methods: readonly string[], list: EpisodeList,
  tunedEpisodes: number, config: RunConfig, control: RunControl & { redis: string }, tuningFree: readonly string[],
): Promise<MethodResult[]> {
  const { runJobsOnQueue, failuresError } = await import('../queue');
  const jobs = comparisonJobs(files, methods, list, tunedEpisodes, config, tuningFree);
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const sofar = new Map<string, number[]>(methods.map((m) => [m, []]));
  const totals = new Map<string, number>();
  for (const j of jobs) totals.set(j.method, (totals.get(j.method) ?? 0) + j.episodes.episodes.length);
  const outcome = await runJobsOnQueue(jobs, {
    redis: control.redis, signal: control.signal,
    onEvent: (event) => {
      const job = byId.get(event.run);
      if (event.kind !== 'step' || !job) {
        control.onEvent?.(event);
        return;
      }
      const done = sofar.get(job.method)!;
      done.push(event.metrics.accuracy);
      control.onEvent?.({ kind: 'step', run: `evaluate ${job.method}`, step: done.length, totalSteps: totals.get(job.method)!, metrics: { accuracy: meanWithInterval(done).mean } });
    },
  });
  const failed = failuresError(jobs, outcome);
  if (failed) throw failed;
  if (outcome.stopped || outcome.results.some((r) => r === null)) throw new CancelledError(`evaluation on the queue stopped after ${outcome.results.filter((r) => r !== null).length} of ${jobs.length} jobs`);
  return methods.map((method) => {
    const mine = outcome.results.filter((r) => r!.method === method);
    const accuracies = mine.flatMap((r) => r!.accuracies);
    return { method: method as MethodName, ...meanWithInterval(accuracies), accuracies, seconds: mine.reduce((s, r) => s + r!.seconds, 0) };
  });
}
