/** Independent jobs (pre-tuning zoo LoRAs, inverting LoRAs, evaluating episodes and comparison methods) and the JobRunner that runs them: in worker threads or in this thread, whichever is faster here (src/queue adds a Redis queue). */
export { runInWorkers, liveWorkerCount, WorkerError } from './pool';
export type { PoolOutcome, WorkerPoolOptions } from './pool';
export { evaluateEpisodeList, evaluateInParallel, evaluateThrough, splitEpisodeList } from './evaluate-in-parallel';
export type {
  EpisodeListEvaluationOptions,
  EpisodeListEvaluationResult,
  ParallelEvaluationOptions,
  ParallelEvaluationResult,
} from './evaluate-in-parallel';
export { runInThisThread } from './in-process';
export { invertLoraJobs } from './run-jobs';
export { inProcessRunner, measuredRunner, runnerFor, workerThreadsRunner } from './job-runner';
export type { JobRunner, LocalRunnerOptions } from './job-runner';
export type { ChosenExecutionOptions } from './run-jobs';
export { runJob } from './run-job';
export { JobResources } from './resources';
export type {
  EvaluateEpisodesJob,
  EvaluateEpisodesResult,
  EvaluateMethodJob,
  EvaluateMethodResult,
  InversionJobOptions,
  InvertLoraJob,
  InvertLoraSummary,
  JobResult,
  ParallelJob,
  PretuneLoraJob,
  PretuneLoraResult,
  ResultOf,
} from './jobs';
export {
  chooseExecution,
  executionFor,
  measuredTimings,
  parseExecutionOverride,
  resolveExecution,
  saveMeasuredTimings,
  timingsFile,
  PARALLEL_JOB_KINDS,
  PARALLEL_MODE_ENV,
  REFERENCE_TIMINGS,
  WORKERS_MARGIN,
} from './execution-choice';
export type { ExecutionChoice, ExecutionMode, ExecutionTimings, MeasuredTimings, ParallelJobKind } from './execution-choice';
