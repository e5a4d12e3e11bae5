import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../free-port';
import type { WorkerProcess } from './worker-processes';

/** A private redis-server on 127.0.0.1 for one test file; its data (AOF) in a temporary directory. */
export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  /**
   * Ends it with `signal` and starts it again on the same port and data: SIGTERM lets it shut down
   * cleanly; after SIGKILL it recovers from its AOF, fsynced on every write (nothing acknowledged is lost).
   */
  restart(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--maxmemory-policy',
      'noeviction',
      '--protected-mode',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}: ${out}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out}`));
    });
  });
}

function exited(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

export async function startRedis(): Promise<TestRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-queue-test-'));
  const port = await freePort();
  let child = await launch(port, dir);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async restart(signal = 'SIGTERM') {
      await exited(child, signal);
      child = await launch(port, dir);
    },
    async stop() {
      await exited(child, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The Redis of a suite: started before it, stopped after it, once the worker processes listed in
 * `workers` (those the suite started) are killed. Its fields are read inside the suite's tests and hooks.
 */
export function useRedis(workers: WorkerProcess[] = []): TestRedis {
  let server: TestRedis | undefined;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await server?.stop();
  });
  const started = (): TestRedis => {
    if (server === undefined) throw new Error("the suite's Redis starts in beforeAll: read it inside a test or a later hook");
    return server;
  };
  return {
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
    get dir() {
      return started().dir;
    },
    restart: (signal) => started().restart(signal),
    stop: () => started().stop(),
  };
}
