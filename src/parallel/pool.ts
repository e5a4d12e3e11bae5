import * as os from 'os';
import type { Worker } from 'worker_threads';
import type { BackendInfo, BackendRequest } from '../backend/select';
import { BackendError, ConfigError, LoraRecycleError } from '../errors';
import type { RunControl } from '../progress/events';
import { describeJob, validateJobs, type ParallelJob, type ResultOf } from './jobs';
import type { FromWorker, SerializedError, WorkerSetup } from './messages';
import { startWorker } from './worker-launch';

export interface WorkerPoolOptions extends RunControl {
  workers?: number; // worker threads, default min(jobs, available CPUs)
  backend?: BackendRequest; // each worker's selectBackend request; default $LORA_RECYCLE_BACKEND, else auto
  threadsPerWorker?: number; // wasm (XNNPACK) threads of each worker, default 1
}

export interface PoolOutcome<R> {
  results: (R | null)[]; // in job order; null: the job did not finish (the signal stopped it or came before it)
  stopped: boolean; // the signal ended the run
  backends: BackendInfo[]; // the backend each worker selected
}

/** A job failed or took its worker down; `job` names it (absent when the worker died between jobs). */
export class WorkerError extends LoraRecycleError {
  constructor(
    message: string,
    readonly job?: { id: string; index: number; errorName?: string },
  ) {
    super(message);
  }
}

const live = new Set<Worker>();

/** Pool workers of this thread that have not exited (0 whenever no runInWorkers call is pending). */
export function liveWorkerCount(): number {
  return live.size;
}

/**
 * Runs serialisable jobs in worker threads, each worker taking the next job when it finishes
 * one. Every worker first selects its backend (selectBackend(backend), wasm with
 * threadsPerWorker threads). Progress events of the jobs are passed to onEvent as they come.
 * The AbortSignal is forwarded to the running jobs, which stop at their next step (CancelledError,
 * runSteps); the promise then resolves with the jobs that finished. A job that throws, or a worker that dies, rejects with a
 * WorkerError naming the job. Workers are terminated (and have exited) before the promise settles.
 */
export async function runInWorkers<J extends ParallelJob>(
  jobs: readonly J[],
  options: WorkerPoolOptions = {},
): Promise<PoolOutcome<ResultOf<J>>> {
  validateJobs(jobs);
  const threads = options.threadsPerWorker ?? 1;
  if (!Number.isInteger(threads) || threads < 1)
    throw new ConfigError(`runInWorkers: threadsPerWorker must be a positive integer, found ${threads}`);
  const workers = options.workers ?? Math.max(1, Math.min(jobs.length, os.availableParallelism()));
  if (!Number.isInteger(workers) || workers < 1)
    throw new ConfigError(`runInWorkers: workers must be a positive integer, found ${workers}`);
  if (jobs.length === 0 || options.signal?.aborted) {
    return { results: jobs.map(() => null), stopped: Boolean(options.signal?.aborted), backends: [] };
  }
  return new PoolRun(jobs, options, Math.min(workers, jobs.length), { backend: options.backend, threads }).outcome;
}

/** The state of one runInWorkers call. */
class PoolRun<J extends ParallelJob> {
  readonly outcome: Promise<PoolOutcome<ResultOf<J>>>;
  private resolve!: (outcome: PoolOutcome<ResultOf<J>>) => void;
  private reject!: (error: unknown) => void;
  private readonly results: (ResultOf<J> | null)[];
  private readonly backends: (BackendInfo | undefined)[] = [];
  private readonly workers = new Map<Worker, number>(); // running workers → their slot
  private readonly assigned = new Map<Worker, number>(); // worker → index of the job it runs
  private readonly exits: Promise<number>[] = [];
  private next = 0;
  private stopped = false;
  private finished = false;
  private readonly onAbort = () => this.abort();

  constructor(
    private readonly jobs: readonly J[],
    private readonly control: RunControl,
    count: number,
    setup: WorkerSetup,
  ) {
    this.outcome = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.results = jobs.map(() => null);
    control.signal?.addEventListener('abort', this.onAbort, { once: true });
    try {
      for (let slot = 0; slot < count; slot++) this.spawn(slot, setup);
    } catch (error) {
      this.end(error); // e.g. tsx missing: the workers already started are terminated
    }
  }

  private spawn(slot: number, setup: WorkerSetup): void {
    const worker = startWorker(setup);
    live.add(worker);
    this.workers.set(worker, slot);
    worker.on('message', (message: FromWorker) => this.receive(worker, slot, message));
    worker.on('error', (error) => this.crash(worker, slot, `threw ${error.name}: ${error.message}`));
    worker.on('exit', (code) => {
      live.delete(worker);
      if (this.workers.has(worker)) this.crash(worker, slot, `exited with code ${code}`);
    });
  }

  private receive(worker: Worker, slot: number, message: FromWorker): void {
    if (this.finished) return;
    switch (message.type) {
      case 'ready':
        this.backends[slot] = message.backend;
        this.dispatch(worker);
        return;
      case 'setup-failed':
        this.end(new BackendError(`worker ${slot} could not select its backend: ${errorText(message.error)}`));
        return;
      case 'event':
        try {
          this.control.onEvent?.(message.event);
        } catch (error) {
          this.end(error);
        }
        return;
      case 'done':
        this.results[message.index] = message.result as ResultOf<J>;
        this.assigned.delete(worker);
        this.dispatch(worker);
        return;
      case 'stopped': // its result stays null
        this.assigned.delete(worker);
        this.dispatch(worker);
        return;
      case 'failed': {
        const job = this.jobs[message.index];
        this.end(
          new WorkerError(`job ${describeJob(job, message.index)} failed in worker ${slot}: ${errorText(message.error)}`, {
            id: job.id,
            index: message.index,
            errorName: message.error.name,
          }),
        );
      }
    }
  }

  /** Gives the worker the next job, or lets it go when there is none (or the run was stopped). */
  private dispatch(worker: Worker): void {
    if (!this.stopped && this.next < this.jobs.length) {
      const index = this.next++;
      this.assigned.set(worker, index);
      try {
        worker.postMessage({ type: 'run', index, job: this.jobs[index] });
      } catch (error) {
        const job = this.jobs[index];
        this.end(
          new WorkerError(
            `job ${describeJob(job, index)} cannot be sent to a worker (jobs must be plain data): ${(error as Error).message}`,
            { id: job.id, index },
          ),
        );
      }
      return;
    }
    this.retire(worker);
    if (this.workers.size === 0) this.end();
  }

  private retire(worker: Worker): void {
    this.workers.delete(worker);
    this.assigned.delete(worker);
    this.exits.push(worker.terminate());
  }

  private abort(): void {
    if (this.finished) return;
    this.stopped = true;
    for (const worker of [...this.workers.keys()]) {
      if (this.assigned.has(worker)) worker.postMessage({ type: 'abort' });
      else this.retire(worker); // still starting: it has no job to stop
    }
    if (this.workers.size === 0) this.end();
  }

  private crash(worker: Worker, slot: number, what: string): void {
    if (this.finished) return;
    const index = this.assigned.get(worker);
    if (index === undefined) {
      this.end(new WorkerError(`worker ${slot} ${what} while running no job`));
      return;
    }
    const job = this.jobs[index];
    this.end(new WorkerError(`job ${describeJob(job, index)} crashed worker ${slot}: it ${what}`, { id: job.id, index }));
  }

  /** Terminates every worker, waits for them to exit, then settles. */
  private end(error?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.control.signal?.removeEventListener('abort', this.onAbort);
    for (const worker of [...this.workers.keys()]) this.retire(worker);
    void Promise.allSettled(this.exits).then(() => {
      if (error !== undefined) this.reject(error);
      else
        this.resolve({
          results: this.results,
          stopped: this.stopped,
          backends: this.backends.filter((b): b is BackendInfo => b !== undefined),
        });
    });
  }
}

function errorText(error: SerializedError): string {
  return `${error.name}: ${error.message}`;
}
