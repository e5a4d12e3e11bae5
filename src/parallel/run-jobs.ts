import { resolveExecution, type ExecutionChoice, type ExecutionMode } from './execution-choice';
import { runInThisThread } from './in-process';
import type { InvertLoraJob, InvertLoraSummary, ParallelJob, ResultOf } from './jobs';
import { runInWorkers, type PoolOutcome, type WorkerPoolOptions } from './pool';

export interface ChosenExecutionOptions extends WorkerPoolOptions {
  /** Overrides executionFor(kind): "in-process" (this thread, jobs in turn) or "workers" (runInWorkers). */
  execution?: ExecutionMode;
}

/** The jobs run the given way: runInThisThread or runInWorkers (same outcome either way). */
export function runJobsAs<J extends ParallelJob>(
  mode: ExecutionMode,
  jobs: readonly J[],
  options: WorkerPoolOptions = {},
): Promise<PoolOutcome<ResultOf<J>>> {
  return mode === 'workers' ? runInWorkers(jobs, options) : runInThisThread(jobs, options);
}

/**
 * Inversion jobs run as executionFor('invert') says for this machine (or options.execution):
 * in this thread one after another, or in worker threads. Each job writes its directory either way.
 */
export async function invertLoraJobs(
  jobs: readonly InvertLoraJob[],
  options: ChosenExecutionOptions = {},
): Promise<PoolOutcome<InvertLoraSummary> & { execution: ExecutionChoice }> {
  const execution = resolveExecution('invert', options.execution);
  return { ...(await runJobsAs(execution.mode, jobs, options)), execution };
}
