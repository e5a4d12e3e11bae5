import type { BackendInfo } from '../backend/select';
import type { JobResult, ParallelJob } from '../parallel/jobs';
import type { RunEvent } from '../progress/events';

/** What a queued job holds: the job of src/parallel as it is, and the code version of its content id. */
export interface QueuedJobData {
  job: ParallelJob;
  version: string;
}

/** A job's progress: one run event of the job code, tagged with the attempt that sent it (1-based). */
export interface QueuedJobProgress {
  attempt: number;
  event: RunEvent;
}

/** What a finished job returns: the job code's result and who computed it. */
export interface QueuedJobReturn {
  result: JobResult;
  worker: { host: string; pid: number; backend: BackendInfo };
}

/** The failure reason of a job cancelled by a stopped run starts with this. */
export const CANCELLED_REASON = 'cancelled by a stopped run';
