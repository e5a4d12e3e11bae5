import { spawn, type ChildProcess } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

/** A `lora-recycle worker` process on the cpu backend (or `backend`), with short locks so a killed one's job is taken over in seconds. */
export interface WorkerProcess {
  child: ChildProcess;
  startSeconds: number; // from spawn to ready
  output(): string;
  /** How many times this worker started each job (by the job's id in src/parallel). */
  starts(): Map<string, number>;
  /** SIGTERM (finish the running job, exit), or the given signal; resolves when it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startWorker(
  redis: string,
  locks: { lockMs?: number; stalledMs?: number; backend?: string } = {},
): Promise<WorkerProcess> {
  const args = ['--lock-ms', String(locks.lockMs ?? 2000), '--stalled-ms', String(locks.stalledMs ?? 1000)];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--redis', redis, ...args], {
    cwd: ROOT,
    env: { ...process.env, LORA_RECYCLE_BACKEND: locks.backend ?? 'cpu', TF_CPP_MIN_LOG_LEVEL: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start within 60 s:\n${out}`)), 60_000);
    const check = () => {
      if (/ready on/.test(out)) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    startSeconds: (Date.now() - started) / 1000,
    output: () => out,
    starts: () => {
      const counts = new Map<string, number>();
      for (const match of out.matchAll(/: job [\w-]+ "([^"]+)" \(\w+\) attempt \d+/g))
        counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
      return counts;
    },
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
