import { resolveExecution, type ExecutionChoice, type ExecutionMode } from './execution-choice';
import { runnerFor } from './job-runner';
import type { InvertLoraJob, InvertLoraSummary } from './jobs';
import type { PoolOutcome, WorkerPoolOptions } from './pool';

export interface ChosenExecutionOptions extends WorkerPoolOptions {
  /** Overrides executionFor(kind): "in-process" (this thread, jobs in turn) or "workers" (runInWorkers). */
  execution?: ExecutionMode;
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
  const { onEvent, signal, execution: _, ...local } = options;
  return { ...(await runnerFor(execution.mode, local).run(jobs, { onEvent, signal })), execution };
}
