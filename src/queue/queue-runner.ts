import type { JobRunner } from '../parallel/job-runner';
import { failuresError } from './failures';
import type { QueueRunOptions } from './run-on-queue';

/**
 * A JobRunner whose jobs worker processes (`lora-recycle worker`, on any host) take from the
 * queues of `redis` (runJobsOnQueue: finished jobs reused by content id, failed ones retried). A
 * job that fails after its retries rejects the run with a WorkerError naming it, once the others
 * have ended. Paths in the jobs must name the same files on every worker's host (a shared directory).
 * BullMQ is loaded on the first run.
 */
export function queueRunner(redis: string, options: Omit<QueueRunOptions, 'redis' | 'onEvent' | 'signal'> = {}): JobRunner {
  return {
    description: `worker processes through the queues of ${redis}`,
    remote: true,
    async run(jobs, control = {}) {
      const { runJobsOnQueue } = await import('./run-on-queue');
      const outcome = await runJobsOnQueue(jobs, { ...options, ...control, redis });
      const failed = failuresError(jobs, outcome);
      if (failed) throw failed;
      return outcome;
    },
  };
}
