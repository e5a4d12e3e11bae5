import type { BackendInfo, BackendRequest } from '../backend/select';
import type { RunEvent } from '../progress/events';
import type { JobResult, ParallelJob } from './jobs';

/** workerData of a pool worker: the backend it selects before taking jobs. */
export interface WorkerSetup {
  backend?: BackendRequest; // undefined: $LORA_RECYCLE_BACKEND, else auto
  threads: number; // wasm threads (LORA_RECYCLE_WASM_THREADS of the worker)
}

/** Pool → worker. A worker runs one job at a time; `abort` stops the running one at its next step. */
export type ToWorker = { type: 'run'; index: number; job: ParallelJob } | { type: 'abort' };

/** An error as plain data (class names of custom errors do not survive structured cloning). */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

/** Worker → pool. */
export type FromWorker =
  | { type: 'ready'; backend: BackendInfo }
  | { type: 'setup-failed'; error: SerializedError }
  | { type: 'event'; index: number; event: RunEvent }
  | { type: 'done'; index: number; result: JobResult }
  | { type: 'stopped'; index: number } // the abort stopped the job (CancelledError): it did not finish
  | { type: 'failed'; index: number; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  return error instanceof Error
    ? { name: error.name, message: error.message, stack: error.stack }
    : { name: 'Error', message: String(error) };
}
