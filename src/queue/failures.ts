import { describeJob, type ParallelJob } from '../parallel/jobs';
import { WorkerError } from '../parallel/pool';
import type { QueueOutcome } from './run-on-queue';

/** The failed jobs of a queue run as one WorkerError naming each (the first as its `job`), or null when none failed. */
export function failuresError(jobs: readonly ParallelJob[], outcome: QueueOutcome<unknown>): WorkerError | null {
  const { failures } = outcome;
  if (failures.length === 0) return null;
  const lines = failures.map((f) => `job ${describeJob(jobs[f.index], f.index)} failed after ${f.attempts} attempts: ${f.reason}`);
  const first = failures[0];
  return new WorkerError(`${failures.length} of ${jobs.length} queued jobs failed:\n  ${lines.join('\n  ')}`, {
    id: first.id,
    index: first.index,
    errorName: /^(\w+):/.exec(first.reason)?.[1],
  });
}
