/**
 * Main script of a pool worker (started by worker-launch.ts): selects its backend, says `ready`,
 * then runs the jobs it is sent one at a time, forwarding their progress events.
 */
import { parentPort, workerData } from 'worker_threads';
import { selectBackend } from '../backend/select';
import { BackendError, CancelledError } from '../errors';
import { serializeError, type FromWorker, type ToWorker, type WorkerSetup } from './messages';
import { JobResources } from './resources';
import { runJob } from './run-job';

async function serve(): Promise<void> {
  const port = parentPort;
  if (!port) throw new BackendError('src/parallel/worker-entry is the main script of a worker thread; start it through runInWorkers');
  const send = (message: FromWorker) => port.postMessage(message);
  const setup = workerData as WorkerSetup;
  let backend: Awaited<ReturnType<typeof selectBackend>>;
  try {
    backend = await selectBackend(setup.backend);
  } catch (error) {
    send({ type: 'setup-failed', error: serializeError(error) });
    return;
  }
  const resources = new JobResources();
  let running: AbortController | null = null;
  let aborted = false;
  port.on('message', async (message: ToWorker) => {
    if (message.type === 'abort') {
      aborted = true;
      running?.abort();
      return;
    }
    const { index, job } = message;
    const controller = new AbortController();
    running = controller;
    if (aborted) controller.abort();
    try {
      const result = await runJob(job, resources, { signal: controller.signal, onEvent: (event) => send({ type: 'event', index, event }) });
      send({ type: 'done', index, result });
    } catch (error) {
      if (error instanceof CancelledError && controller.signal.aborted) send({ type: 'stopped', index });
      else send({ type: 'failed', index, error: serializeError(error) });
    } finally {
      running = null;
    }
  });
  send({ type: 'ready', backend });
}

void serve();
