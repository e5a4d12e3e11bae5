import * as path from 'path';
import { Worker } from 'worker_threads';
import { WASM_THREADS_ENV } from '../backend/wasm';
import { MissingResourceError } from '../errors';
import type { WorkerSetup } from './messages';

/**
 * Starts a pool worker on worker-entry. From the CommonJS build (dist/) that is the compiled
 * worker-entry.js. From the TypeScript sources (vitest, tsx) Node cannot load the .ts file by
 * itself: a two-line bootstrap registers tsx's CommonJS loader (tsx/cjs) in the new thread,
 * then requires worker-entry.ts. The worker's environment is this one with its wasm thread count.
 */
export function startWorker(setup: WorkerSetup): Worker {
  const options = { workerData: setup, env: { ...process.env, [WASM_THREADS_ENV]: String(setup.threads) } };
  if (path.extname(__filename) !== '.ts') return new Worker(path.join(__dirname, 'worker-entry.js'), options);
  const bootstrap = `require(${JSON.stringify(tsxLoader())});\nrequire(${JSON.stringify(path.join(__dirname, 'worker-entry.ts'))});\n`;
  return new Worker(bootstrap, { ...options, eval: true });
}

function tsxLoader(): string {
  try {
    return require.resolve('tsx/cjs');
  } catch {
    throw new MissingResourceError(
      'running src/parallel from TypeScript sources needs tsx to load the worker (npm install --save-dev tsx), or use the build in dist/',
    );
  }
}
