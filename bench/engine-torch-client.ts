/** Drives bench/engine_torch.py: one JSON request per line, one JSON reply per line. */
import { type ChildProcessWithoutNullStreams, spawn } from 'child_process';
import * as path from 'path';
import * as readline from 'readline';
import { MissingResourceError } from '../src/errors';
import type { TimedMode } from './engine-timing';

export interface TorchInfo {
  torch: string;
  threads: number;
  implementation: string;
}

export class TorchClient {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    readonly info: TorchInfo,
  ) {}

  /** Starts the PyTorch side of `model` with `threads` threads (python: $LORA_RECYCLE_PYTHON or .venv). */
  static async start(threads: number, model: string): Promise<TorchClient> {
    const python = process.env.LORA_RECYCLE_PYTHON ?? path.join(__dirname, '..', '.venv', 'bin', 'python');
    const child = spawn(python, [path.join(__dirname, 'engine_torch.py'), '--threads', String(threads), '--model', model]);
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + String(chunk)).slice(-4000);
    });
    const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await lines.next().catch(() => ({ done: true, value: '' }));
    if (first.done) {
      throw new MissingResourceError(
        `the PyTorch side (${python} bench/engine_torch.py) did not start; ` +
          `it needs torch, transformers and peft (requirements-dev.txt). stderr: ${stderr}`,
      );
    }
    return new TorchClient(child, lines, JSON.parse(first.value));
  }

  /** Milliseconds of `reps` steps after `warmup` untimed ones (and one more on first use). */
  async time(mode: TimedMode, batch: number, reps: number, warmup: number): Promise<number[]> {
    return (await this.request({ mode, batch, reps, warmup })).ms as number[];
  }

  /** The Python process's peak resident memory so far, MiB. */
  async peakRssMb(): Promise<number> {
    return (await this.request({ mode: 'rss' })).peakRssMb as number;
  }

  close(): void {
    this.child.stdin.end();
  }

  private async request(body: object): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${JSON.stringify(body)}\n`);
    const reply = await this.lines.next();
    if (reply.done) throw new Error('the PyTorch side exited early');
    return JSON.parse(reply.value);
  }
}
