import type { JobRunner } from '../parallel/job-runner';
import { queueRunner } from '../queue/queue-runner';
import type { OptionValues } from './commands';

/**
 * Where a command's jobs run, chosen here once: with --redis URL, worker processes through the
 * queues of that Redis (`lora-recycle worker --redis URL` on each host); without it, undefined:
 * the ports' own runner on this host (measuredRunner, $LORA_RECYCLE_PARALLEL).
 */
export function jobRunnerOption(values: OptionValues): JobRunner | undefined {
  return typeof values.redis === 'string' ? queueRunner(values.redis) : undefined;
}
