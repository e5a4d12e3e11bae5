import { Job, Queue, QueueEvents } from 'bullmq';
import type { BackendInfo } from '../backend/select';
import { validateJobs, type ParallelJob, type ResultOf } from '../parallel/jobs';
import type { PoolOutcome } from '../parallel/pool';
import type { RunControl, RunEvent } from '../progress/events';
import { CANCEL_CHANNEL, QUEUE_PREFIX, redisConnection } from './connection';
import { codeVersion, jobContentId } from './content-id';
import { CANCELLED_REASON, type QueuedJobData, type QueuedJobProgress, type QueuedJobReturn } from './messages';
import { withAbsolutePaths } from './job-paths';
import { isReusable } from './reuse';

export interface QueueRunOptions extends RunControl {
  redis: string; // redis:// URL of the queues
  attempts?: number; // tries of a job before it counts as failed, default 3 (a stalled job, e.g. its worker killed, is retried besides)
  backoffMs?: number; // delay before the first retry, doubled for each next one; default 1000
  version?: string; // code version in the content ids, default codeVersion() (package name@version)
}

/** A job that failed on every attempt; its result is null. */
export interface QueueFailure {
  index: number;
  id: string;
  queueId: string;
  attempts: number;
  reason: string; // the job's error, "Name: message" as the worker caught it
}

export interface QueueOutcome<R> extends PoolOutcome<R> {
  queueIds: string[]; // content id of each job (its BullMQ job id)
  reused: number; // jobs a run before this one had finished: their results were read back, not recomputed
  failures: QueueFailure[]; // in job order
}

/**
 * The jobs run by worker processes (`lora-recycle worker`) through one BullMQ queue per job
 * kind, with runInWorkers' outcome: results in job order, null for the jobs that did not
 * finish. Each job's BullMQ id is its content id (jobContentId): a job finished by any run
 * before — or running for a concurrent run of the same jobs — is not run again; its result is
 * read back (an inversion only if its output directory is still there). Paths in the jobs are
 * made absolute here (the workers run elsewhere). Progress events of
 * the jobs reach onEvent through QueueEvents, as the workers send them. A failing job is
 * retried (`attempts`); one that fails every time is listed in `failures` while the other jobs
 * go on. The signal removes the run's queued jobs and cancels its running ones (their workers
 * abort them at the next step); the promise then resolves with `stopped` once they have ended.
 */
export async function runJobsOnQueue<J extends ParallelJob>(
  jobs: readonly J[],
  options: QueueRunOptions,
): Promise<QueueOutcome<ResultOf<J>>> {
  validateJobs(jobs);
  const version = options.version ?? codeVersion();
  const queued = jobs.map(withAbsolutePaths);
  const queueIds = queued.map((job) => jobContentId(job, version));
  const aborted = Boolean(options.signal?.aborted);
  if (jobs.length === 0 || aborted)
    return { results: jobs.map(() => null), stopped: aborted, backends: [], queueIds, reused: 0, failures: [] };
  const connection = redisConnection(options.redis);
  const queues = new Map<string, Queue>();
  const events = new Map<string, QueueEvents>();
  try {
    for (const kind of new Set(jobs.map((job) => job.kind))) {
      const queue = new Queue(kind, { connection, prefix: QUEUE_PREFIX });
      queue.on('error', () => undefined); // connection errors: ioredis reconnects, commands wait
      queues.set(kind, queue);
      // follow the events from the stream's present end, so none between now and the adds is missed
      const listener = new QueueEvents(kind, { connection, prefix: QUEUE_PREFIX, lastEventId: await lastEventId(queue) });
      listener.on('error', () => undefined);
      events.set(kind, listener);
    }
    await Promise.all([...events.values()].map((listener) => listener.waitUntilReady()));
    return await new QueueRun(jobs, queued, queueIds, version, queues, events, options).outcome;
  } finally {
    await Promise.allSettled([...events.values(), ...queues.values()].map((x) => x.close()));
  }
}

/** The Redis commands used here beyond BullMQ's (its client is ioredis). */
interface RedisCommands {
  xrevrange(key: string, end: string, start: string, count: 'COUNT', n: number): Promise<[string, string[]][]>;
  publish(channel: string, message: string): Promise<number>;
}

async function redisOf(queue: Queue): Promise<RedisCommands> {
  return (await queue.client) as unknown as RedisCommands;
}

async function lastEventId(queue: Queue): Promise<string> {
  const client = await redisOf(queue);
  const last = await client.xrevrange(queue.keys.events, '+', '-', 'COUNT', 1);
  return last.length > 0 ? last[0][0] : '0-0';
}

/** The state of one runJobsOnQueue call. */
class QueueRun<J extends ParallelJob> {
  readonly outcome: Promise<QueueOutcome<ResultOf<J>>>;
  private resolve!: (outcome: QueueOutcome<ResultOf<J>>) => void;
  private reject!: (error: unknown) => void;
  private readonly results: (ResultOf<J> | null)[];
  private readonly settled: boolean[];
  private readonly attempts: number[];
  private readonly failures: QueueFailure[] = [];
  private readonly backends = new Map<string, BackendInfo>(); // worker "host:pid" → its backend
  private readonly index = new Map<string, number>(); // content id → job index
  private pending: number;
  private reused = 0;
  private stopped = false;
  private error: unknown;
  private finished = false;
  private readonly onAbort = () => void this.stop();

  constructor(
    private readonly jobs: readonly J[],
    private readonly queued: readonly J[],
    private readonly queueIds: string[],
    private readonly version: string,
    private readonly queues: Map<string, Queue>,
    events: Map<string, QueueEvents>,
    private readonly options: QueueRunOptions,
  ) {
    this.outcome = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.results = jobs.map(() => null);
    this.settled = jobs.map(() => false);
    this.attempts = jobs.map(() => 0);
    this.pending = jobs.length;
    queueIds.forEach((id, i) => this.index.set(id, i));
    for (const listener of events.values()) {
      listener.on('progress', ({ jobId, data }) => this.progress(jobId, data as unknown as QueuedJobProgress));
      listener.on('completed', ({ jobId }) => void this.guard(this.completed(jobId)));
      listener.on('failed', ({ jobId, failedReason }) => void this.guard(this.failed(jobId, failedReason)));
      listener.on('removed', ({ jobId }) => void this.guard(this.removed(jobId)));
    }
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    void this.guard(Promise.all(jobs.map((_, i) => this.submit(i))));
  }

  private queueOf(i: number): Queue {
    return this.queues.get(this.jobs[i].kind)!;
  }

  /** Adds job i under its content id, unless a run before finished it (then its result is taken). */
  private async submit(i: number): Promise<void> {
    const queue = this.queueOf(i);
    const id = this.queueIds[i];
    const state = await queue.getJobState(id);
    if (state === 'completed') {
      const done = await Job.fromId<QueuedJobData, QueuedJobReturn>(queue, id);
      if (done && isReusable(this.queued[i], done.returnvalue)) {
        this.reused++;
        this.emit({ kind: 'phase', run: this.jobs[i].id, phase: 'done earlier', message: `result of queue job ${id.slice(0, 12)} reused` });
        this.finish(i, done.returnvalue);
        return;
      }
    }
    if (state === 'completed' || state === 'failed') await queue.remove(id); // run again (0 if another run re-added it and a worker took it)
    if (this.settled[i] || this.stopped) return;
    const data: QueuedJobData = { job: this.queued[i], version: this.version };
    await queue.add(this.jobs[i].kind, data, {
      jobId: id,
      attempts: this.options.attempts ?? 3,
      backoff: { type: 'exponential', delay: this.options.backoffMs ?? 1000 },
      removeOnComplete: false,
      removeOnFail: false,
    });
  }

  private progress(queueId: string, data: QueuedJobProgress): void {
    const i = this.index.get(queueId);
    if (i === undefined || this.settled[i] || typeof data !== 'object' || data === null || !data.event) return;
    if (data.attempt > this.attempts[i]) {
      if (this.attempts[i] > 0) this.emit({ kind: 'phase', run: this.jobs[i].id, phase: 'retrying', message: `attempt ${data.attempt}` });
      this.attempts[i] = data.attempt;
    }
    this.emit(data.event);
  }

  private async completed(queueId: string): Promise<void> {
    const i = this.index.get(queueId);
    if (i === undefined || this.settled[i]) return;
    const job = await Job.fromId<QueuedJobData, QueuedJobReturn>(this.queueOf(i), queueId);
    if (job?.returnvalue) this.finish(i, job.returnvalue);
  }

  private async failed(queueId: string, reason: string): Promise<void> {
    const i = this.index.get(queueId);
    if (i === undefined || this.settled[i]) return;
    const queue = this.queueOf(i);
    if ((await queue.getJobState(queueId)) !== 'failed') return; // a retry follows
    if (this.stopped) {
      this.settle(i);
      return;
    }
    if (reason.startsWith(CANCELLED_REASON)) {
      await this.submit(i); // a concurrent run of the same job was stopped; this one still needs it
      return;
    }
    const job = await Job.fromId(queue, queueId);
    this.failures.push({ index: i, id: this.jobs[i].id, queueId, attempts: job?.attemptsMade ?? 0, reason });
    this.settle(i);
  }

  /** Removed by a stopped run of the same jobs (or by this one): added again unless this run stopped. */
  private async removed(queueId: string): Promise<void> {
    const i = this.index.get(queueId);
    if (i === undefined || this.settled[i]) return;
    if (this.stopped) this.settle(i);
    else await this.submit(i);
  }

  private finish(i: number, value: QueuedJobReturn): void {
    if (this.settled[i]) return;
    const job = this.jobs[i];
    // the caller's own output path (the job went out with it made absolute)
    this.results[i] = ('output' in job ? { ...value.result, output: job.output } : value.result) as ResultOf<J>;
    this.backends.set(`${value.worker.host}:${value.worker.pid}`, value.worker.backend);
    this.settle(i);
  }

  private settle(i: number): void {
    if (this.settled[i]) return;
    this.settled[i] = true;
    if (--this.pending === 0) this.end();
  }

  /** Removes the run's queued jobs; asks the workers running the others to cancel them. */
  private async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(
      this.jobs.map(async (_, i) => {
        if (this.settled[i]) return;
        const queue = this.queueOf(i);
        const id = this.queueIds[i];
        let state = await queue.getJobState(id);
        if (state === 'completed' || state === 'failed') return; // its event settles it; removing it would lose a finished result
        if (state !== 'active' && state !== 'unknown') {
          if ((await queue.remove(id)) === 1) {
            this.settle(i);
            return;
          }
          state = await queue.getJobState(id); // a worker took it meanwhile
        }
        if (state === 'unknown')
          this.settle(i); // never added: the stop came first
        else if (state === 'active') await (await redisOf(queue)).publish(CANCEL_CHANNEL, id);
      }),
    );
  }

  private emit(event: RunEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch (error) {
      this.error ??= error;
      void this.guard(this.stop());
    }
  }

  /** An error of Redis or of a listener ends the run with it, after the run's jobs are stopped. */
  private async guard(work: Promise<unknown>): Promise<void> {
    try {
      await work;
    } catch (error) {
      if (this.error !== undefined || this.pending === 0) return;
      this.error = error;
      this.stopped = false;
      await this.stop().catch(() => undefined);
      this.end();
    }
  }

  private end(): void {
    if (this.finished) return;
    this.finished = true;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    if (this.error !== undefined) {
      this.reject(this.error);
      return;
    }
    this.failures.sort((a, b) => a.index - b.index);
    this.resolve({
      results: this.results,
      stopped: this.stopped,
      backends: [...this.backends.values()],
      queueIds: this.queueIds,
      reused: this.reused,
      failures: this.failures,
    });
  }
}
