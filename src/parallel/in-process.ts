import { currentBackend, selectBackend, type BackendInfo, type BackendRequest } from '../backend/select';
import { BackendError, CancelledError } from '../errors';
import { validateJobs, type ParallelJob, type ResultOf } from './jobs';
import type { PoolOutcome, WorkerPoolOptions } from './pool';
import { JobResources } from './resources';
import { runJob } from './run-job';

/** This thread's backend; selected as a worker would select its own (request) when none was yet. */
async function callingThreadBackend(request?: BackendRequest): Promise<BackendInfo> {
  try {
    return currentBackend();
  } catch (error) {
    if (!(error instanceof BackendError)) throw error;
    return selectBackend(request);
  }
}

/**
 * runInWorkers without workers: the same jobs, one after another in this thread (runJob, sharing
 * one JobResources, freed at the end), with the same outcome: results in job order, null for jobs
 * the signal came before, and this thread's backend as the only entry of `backends`. `workers`
 * and `threadsPerWorker` do not apply; `backend` is only selected if this thread has none yet.
 * A failing job rejects with its own error.
 */
export async function runInThisThread<J extends ParallelJob>(
  jobs: readonly J[],
  options: WorkerPoolOptions = {},
): Promise<PoolOutcome<ResultOf<J>>> {
  validateJobs(jobs);
  const results: (ResultOf<J> | null)[] = jobs.map(() => null);
  const aborted = () => Boolean(options.signal?.aborted);
  if (jobs.length === 0 || aborted()) return { results, stopped: aborted(), backends: [] };
  const backend = await callingThreadBackend(options.backend);
  const resources = new JobResources();
  try {
    for (let i = 0; i < jobs.length && !aborted(); i++) {
      try {
        results[i] = (await runJob(jobs[i], resources, { onEvent: options.onEvent, signal: options.signal })) as ResultOf<J>;
      } catch (error) {
        if (!(error instanceof CancelledError && aborted())) throw error;
      }
    }
  } finally {
    resources.dispose();
  }
  return { results, stopped: aborted(), backends: [backend] };
}
