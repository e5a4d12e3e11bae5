import type { DatasetSpec } from '../data/dataset-spec';
import type { EpisodeList } from '../data/episodes';
import { evaluateThrough, type ParallelEvaluationOptions, type ParallelEvaluationResult } from '../parallel/evaluate-in-parallel';
import { queueRunner } from './queue-runner';
import type { QueueRunOptions } from './run-on-queue';

export type QueueEvaluationOptions = Omit<ParallelEvaluationOptions, 'workers' | 'backend' | 'threadsPerWorker'> &
  Omit<QueueRunOptions, 'onEvent' | 'signal'>;

/** Episodes per job when options.chunks is not given: small enough to spread, large enough that queue overhead does not count. */
const EPISODES_PER_JOB = 10;

/**
 * evaluateEpisodeList with its evaluate-episodes jobs run by worker processes through the
 * queues of options.redis (queueRunner): the same accuracies in list order, the same step
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
  const { attempts, backoffMs, version } = options;
  return evaluateThrough(queueRunner(options.redis, { attempts, backoffMs, version }), backbone, dataset, list, { ...options, chunks });
}
