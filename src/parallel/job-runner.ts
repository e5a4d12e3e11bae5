import type { RunControl } from '../progress/events';
import { executionFor, type ExecutionChoice, type ExecutionMode, type ParallelJobKind } from './execution-choice';
import { runInThisThread } from './in-process';
import type { ParallelJob, ResultOf } from './jobs';
import { runInWorkers, type PoolOutcome, type WorkerPoolOptions } from './pool';

/**
 * Where jobs run, chosen once at the edge (the CLI's --redis, $LORA_RECYCLE_PARALLEL, a library
 * option) and passed down as one value: in this thread (inProcessRunner), in worker threads
 * (workerThreadsRunner), each kind the faster of the two here (measuredRunner), or by worker
 * processes through a Redis (src/queue queueRunner). The same jobs give the same results on every one.
 */
export interface JobRunner {
  /** How the jobs run, in words. */
  readonly description: string;
  /**
   * The jobs run in other processes, possibly on other hosts: every file they read must lie in a
   * directory they all share (the run folder, never a temporary one), and the pipeline gives them
   * all its work (zoo, inversions, evaluation). Otherwise the pipeline tunes the zoo and evaluates
   * in this process, where it is faster, and only inversions run as jobs.
   */
  readonly remote: boolean;
  /**
   * The jobs' results in job order, null for jobs a stop came before; `stopped` when the signal
   * ended the run. A job that fails rejects, naming it.
   */
  run<J extends ParallelJob>(jobs: readonly J[], control?: RunControl): Promise<PoolOutcome<ResultOf<J>>>;
}

/** How a runner on this host runs its jobs: their backend, and (worker threads) how many workers of how many threads. */
export type LocalRunnerOptions = Omit<WorkerPoolOptions, keyof RunControl>;

/** The jobs one after another in this thread (runInThisThread). */
export function inProcessRunner(options: LocalRunnerOptions = {}): JobRunner {
  return {
    description: 'in this process',
    remote: false,
    run: (jobs, control = {}) => runInThisThread(jobs, { ...options, ...control }),
  };
}

/** The jobs in worker threads of this process (runInWorkers). */
export function workerThreadsRunner(options: LocalRunnerOptions = {}): JobRunner {
  return {
    description: 'in worker threads',
    remote: false,
    run: (jobs, control = {}) => runInWorkers(jobs, { ...options, ...control }),
  };
}

/** inProcessRunner or workerThreadsRunner, as `mode` says. */
export function runnerFor(mode: ExecutionMode, options: LocalRunnerOptions = {}): JobRunner {
  return mode === 'workers' ? workerThreadsRunner(options) : inProcessRunner(options);
}

/** The measured kind (executionFor) each job kind runs as: evaluations as 'evaluate', tuning on the backbone as 'invert'. */
const MEASURED_AS: Record<ParallelJob['kind'], ParallelJobKind> = {
  'evaluate-episodes': 'evaluate',
  'evaluate-method': 'evaluate',
  'invert-lora': 'invert',
  'pretune-lora': 'invert',
};

/**
 * Each kind of job in this thread or in worker threads, whichever executionFor says is faster on
 * this machine ($LORA_RECYCLE_PARALLEL overrides), decided when the runner is made (`execution`
 * says how, and why). A batch runs in worker threads only when every kind in it does.
 */
export function measuredRunner(options: LocalRunnerOptions & { env?: NodeJS.ProcessEnv } = {}): JobRunner & {
  execution: Record<ParallelJobKind, ExecutionChoice>;
} {
  const { env, ...local } = options;
  const execution = { evaluate: executionFor('evaluate', { env }), invert: executionFor('invert', { env }) };
  const modeOf = (jobs: readonly ParallelJob[]): ExecutionMode =>
    jobs.length > 0 && jobs.every((job) => execution[MEASURED_AS[job.kind]]?.mode === 'workers') ? 'workers' : 'in-process';
  return {
    description: `evaluate jobs ${execution.evaluate.mode}, invert jobs ${execution.invert.mode} (${execution.invert.reason})`,
    remote: false,
    execution,
    run: (jobs, control) => runnerFor(modeOf(jobs), local).run(jobs, control),
  };
}
