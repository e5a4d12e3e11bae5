import * as fs from 'fs';
import type { ParallelJob } from '../parallel/jobs';
import type { QueuedJobReturn } from './messages';

/** Whether the finished job's result still stands: what it wrote (surrogate set, LoRA file) must still be there. */
export function isReusable(job: ParallelJob, value: QueuedJobReturn | undefined): boolean {
  if (!value || typeof value !== 'object' || !value.result) return false;
  return job.kind === 'evaluate-episodes' || job.kind === 'evaluate-method' || fs.existsSync(job.output);
}
