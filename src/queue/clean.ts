import { Queue } from 'bullmq';
import { ConfigError } from '../errors';
import { QUEUE_KINDS, QUEUE_PREFIX, redisConnection } from './connection';

export interface QueueCleanOptions {
  redis: string;
  olderThanHours?: number; // only jobs that ended at least this long ago, default 0 (all)
  failed?: boolean; // also the failed jobs (default: finished ones only)
  all?: boolean; // every job of the queues, waiting and failed included (BullMQ obliterate; refused while a job is running)
}

/** Jobs of one queue by state. */
export interface QueueJobCounts {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
}

/** What cleaning did to one queue (one per job kind). */
export interface QueueCleanReport {
  queue: string;
  removed: { completed: number; failed: number; other: number }; // other: waiting and delayed jobs (only with `all`)
  left: QueueJobCounts;
}

const STATES = ['waiting', 'active', 'completed', 'failed', 'delayed'] as const;

async function counts(queue: Queue): Promise<QueueJobCounts> {
  const found = await queue.getJobCounts(...STATES);
  return Object.fromEntries(STATES.map((s) => [s, found[s] ?? 0])) as unknown as QueueJobCounts;
}

/**
 * Removes ended jobs of this project's queues (one per job kind, prefix "lora-recycle") from Redis:
 * the finished ones (with `failed`, the failed ones too) that ended at least `olderThanHours` ago
 * (BullMQ Queue.clean). With `all`, every job of every queue, whatever its state (Queue.obliterate,
 * which refuses while a worker runs one of them). A removed finished job is forgotten: the next
 * run of the same command computes it again instead of reusing its result. Returns what each
 * queue lost and what is left in it.
 */
export async function cleanQueues(options: QueueCleanOptions): Promise<QueueCleanReport[]> {
  const hours = options.olderThanHours ?? 0;
  if (!Number.isFinite(hours) || hours < 0) throw new ConfigError(`--older-than expects hours ≥ 0, found ${hours}`);
  if (options.all && hours > 0) throw new ConfigError('--all removes every job whatever its age; it takes no --older-than');
  const connection = redisConnection(options.redis);
  const grace = Math.round(hours * 3600 * 1000);
  const reports: QueueCleanReport[] = [];
  for (const kind of QUEUE_KINDS) {
    const queue = new Queue(kind, { connection, prefix: QUEUE_PREFIX });
    queue.on('error', () => undefined); // connection errors surface as the commands' own
    try {
      if (options.all) {
        const before = await counts(queue);
        await queue.obliterate();
        reports.push({
          queue: kind,
          removed: { completed: before.completed, failed: before.failed, other: before.waiting + before.delayed },
          left: await counts(queue),
        });
        continue;
      }
      const completed = await queue.clean(grace, 0, 'completed');
      const failed = options.failed ? await queue.clean(grace, 0, 'failed') : [];
      reports.push({ queue: kind, removed: { completed: completed.length, failed: failed.length, other: 0 }, left: await counts(queue) });
    } finally {
      await queue.close();
    }
  }
  return reports;
}
