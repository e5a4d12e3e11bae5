import type { DatasetSpec } from '../data/dataset-spec';
import type { EpisodeList } from '../data/episodes';
import { evaluateThrough, type ParallelEvaluationOptions, type ParallelEvaluationResult } from '../parallel/evaluate-in-parallel';
import { failuresError } from './failures';
import { runJobsOnQueue, type QueueRunOptions } from './run-on-queue';

export type QueueEvaluationOptions = Omit<ParallelEvaluationOptions, 'workers' | 'backend' | 'threadsPerWorker'> &
  Omit<QueueRunOptions, 'onEvent' | 'signal'>;

/** Episodes per job when options.chunks is not given: small enough to spread, large enough that queue overhead does not count. */
const EPISODES_PER_JOB = 10;

/**
 * evaluateEpisodeList with its evaluate-episodes jobs run by worker processes through the
 * queues of options.redis (runJobsOnQueue): the same accuracies in list order, the same step
 * events. Jobs are `chunks` contiguous slices (default one per 10 episodes); a job that fails
 * after its retries throws a WorkerError naming it, once the other jobs have finished.
 */
export async function evaluateEpisodesOnQueue(
  backbone: string,
  dataset: DatasetSpec,
  list: EpisodeList,
  options: QueueEvaluationOptions,
): Promise<ParallelEvaluationResult> {
  const chunks = options.chunks ?? Math.max(1, Math.ceil(list.episodes.length / EPISODES_PER_JOB));
  return evaluateThrough(
    async (jobs, control) => {
      const outcome = await runJobsOnQueue(jobs, {
        redis: options.redis,
        attempts: options.attempts,
        backoffMs: options.backoffMs,
        version: options.version,
        ...control,
      });
      const failed = failuresError(jobs, outcome);
      if (failed) throw failed;
      return outcome;
    },
    backbone,
    dataset,
    list,
    { ...options, chunks },
  );
}
