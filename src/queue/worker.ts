import * as os from 'os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { selectBackend, type BackendInfo, type BackendRequest } from '../backend/select';
import { CancelledError } from '../errors';
import { JobResources } from '../parallel/resources';
import { runJob } from '../parallel/run-job';
import { CANCEL_CHANNEL, QUEUE_KINDS, QUEUE_PREFIX, redisConnection } from './connection';
import { CANCELLED_REASON, type QueuedJobData, type QueuedJobProgress, type QueuedJobReturn } from './messages';

export interface QueueWorkerOptions {
  redis: string;
  concurrency?: number; // jobs at once of each kind, default 1
  backend?: BackendRequest; // selectBackend's request, default $LORA_RECYCLE_BACKEND, else auto
  lockMs?: number; // BullMQ lockDuration: a job whose worker renews no lock for this long is stalled; default 30000
  stalledMs?: number; // how often stalled jobs are looked for (and put back in the queue), default 30000
  log?: (line: string) => void;
}

export interface QueueWorker {
  backend: BackendInfo;
  /** Stops taking jobs; waits for the running ones to finish, or (force) cancels them. */
  close(force?: boolean): Promise<void>;
}

/** The ioredis calls of the cancel subscription. */
interface Subscriber {
  subscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  disconnect(): void;
}

/** Cancel messages for jobs not (yet) running here are kept this long, in case the job starts right after. */
const EARLY_CANCEL_MS = 10_000;

/**
 * A worker process's job loop: one BullMQ Worker per job kind, running each job with runJob
 * (the code of src/parallel, unchanged) on one shared JobResources. Its run events go back as
 * job progress (tagged with the attempt); its result as the job's return value. Artifacts are
 * written by the job code where the job says (atomically). A cancel message (a stopped run)
 * aborts the job at its next step; it then fails without retry.
 */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const connection = redisConnection(options.redis); // a bad URL is reported before the backend loads
  const backend = await selectBackend(options.backend);
  const resources = new JobResources();
  const log = options.log ?? (() => undefined);
  const identity = { host: os.hostname(), pid: process.pid, backend };
  const early = new Map<string, number>(); // job id → when its cancel came

  const process_ = async (job: Job<QueuedJobData, QueuedJobReturn>, _token?: string, signal?: AbortSignal): Promise<QueuedJobReturn> => {
    const attempt = job.attemptsStarted || job.attemptsMade + 1;
    const local = new AbortController();
    signal?.addEventListener('abort', () => local.abort(), { once: true });
    const cancelledAt = early.get(job.id!);
    if (cancelledAt !== undefined && Date.now() - cancelledAt < EARLY_CANCEL_MS) local.abort();
    early.delete(job.id!);
    log(`job ${job.data.job.kind} "${job.data.job.id}" (${job.id!.slice(0, 12)}) attempt ${attempt}`);
    let sent: Promise<unknown> = Promise.resolve();
    try {
      const result = await runJob(job.data.job, resources, {
        signal: local.signal,
        onEvent: (event) => {
          const progress: QueuedJobProgress = { attempt, event };
          sent = sent.then(() => job.updateProgress(progress as unknown as object)).catch(() => undefined);
        },
      });
      await sent; // every progress event before the completion
      return { result, worker: identity };
    } catch (error) {
      await sent;
      if (error instanceof CancelledError && local.signal.aborted) throw new UnrecoverableError(`${CANCELLED_REASON}: ${error.message}`);
      const e = error as Error;
      log(`job "${job.data.job.id}" attempt ${attempt} failed: ${e.name}: ${e.message}`);
      throw Object.assign(new Error(`${e.name}: ${e.message}`), { stack: e.stack }); // the reason keeps the error's class
    }
  };

  const workers = QUEUE_KINDS.map((kind) => {
    const worker = new Worker<QueuedJobData, QueuedJobReturn>(kind, process_, {
      connection,
      prefix: QUEUE_PREFIX,
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockMs ?? 30_000,
      stalledInterval: options.stalledMs ?? 30_000,
    });
    worker.on('error', (error) => log(`queue ${kind}: ${error.message}`)); // e.g. Redis restarting: it reconnects
    return worker;
  });
  const subscriber = (await (await workers[0].client).duplicate()) as unknown as Subscriber;
  subscriber.on('error', () => undefined);
  await subscriber.subscribe(CANCEL_CHANNEL);
  subscriber.on('message', (_channel: string, jobId: string) => {
    if (!workers.some((w) => w.cancelJob(jobId, CANCELLED_REASON))) early.set(jobId, Date.now());
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  return {
    backend,
    async close(force = false) {
      if (force) for (const w of workers) w.cancelAllJobs(CANCELLED_REASON);
      await Promise.all(workers.map((w) => w.close()));
      subscriber.disconnect();
      resources.dispose();
    },
  };
}
