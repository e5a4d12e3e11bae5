/** Jobs of src/parallel on BullMQ queues (Redis), run by `lora-recycle worker` processes on any number of hosts. */
export { runJobsOnQueue, type QueueFailure, type QueueOutcome, type QueueRunOptions } from './run-on-queue';
export { queueRunner } from './queue-runner';
export { startQueueWorker, type QueueWorker, type QueueWorkerOptions } from './worker';
export { codeVersion, fileDigest, jobContentId } from './content-id';
export { withAbsolutePaths } from './job-paths';
export { CANCEL_CHANNEL, QUEUE_KINDS, QUEUE_PREFIX, redisConnection } from './connection';
export { failuresError } from './failures';
export { cleanQueues, type QueueCleanOptions, type QueueCleanReport, type QueueJobCounts } from './clean';
export { evaluateEpisodesOnQueue, type QueueEvaluationOptions } from './evaluate-on-queue';
export type { QueuedJobData, QueuedJobProgress, QueuedJobReturn } from './messages';
