import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'worker_threads';
import { BackendError } from '../../errors';
import { wasmApi, type WasmMemory, type WasmModule } from '../../backend/compiled-module';

type KernelFunction = (...args: number[]) => void;

const MAX_ARGS = 32;
/** A part that has not finished after this long means a helper thread is gone. */
const PART_TIMEOUT_MS = 120_000;

/**
 * Helper threads, each with its own instance of the kernels on the same shared memory. A
 * worker waits on a control word; the calling thread writes the function and its arguments,
 * wakes the workers, runs its own part and waits until every worker has run its part.
 * Control block (Int32): [0] job number, [1] function index, [2] argument count, [3] parts done,
 * [4] failures (a failing worker also posts its error on its port).
 */
const WORKER_SOURCE = `
const { workerData } = require('worker_threads');
const { module, memory, control, names, part, parts, port } = workerData;
const exportsOf = new WebAssembly.Instance(module, { env: { memory } }).exports;
const word = new Int32Array(control, 0, 5);
const args = new Float64Array(control, 24, ${MAX_ARGS});
let seen = 0;
for (;;) {
  Atomics.wait(word, 0, seen);
  seen = Atomics.load(word, 0);
  try {
    exportsOf[names[word[1]]](...Array.from(args.subarray(0, word[2])), part, parts);
  } catch (error) {
    port.postMessage(String((error && error.stack) || error));
    Atomics.add(word, 4, 1);
  }
  Atomics.add(word, 3, 1);
  Atomics.notify(word, 3);
}
`;

export class KernelThreads {
  private readonly functions: Record<string, KernelFunction>;
  private readonly names: string[];
  private readonly word: Int32Array;
  private readonly args: Float64Array;
  private readonly ports: MessagePort[] = [];

  /** `threads` threads in all: this one and threads − 1 workers. */
  constructor(
    module: WasmModule,
    memory: WasmMemory,
    readonly threads: number,
  ) {
    this.functions = new wasmApi.Instance(module, { env: { memory } }).exports as Record<string, KernelFunction>;
    this.names = Object.keys(this.functions);
    const control = new SharedArrayBuffer(24 + 8 * MAX_ARGS);
    this.word = new Int32Array(control, 0, 5);
    this.args = new Float64Array(control, 24, MAX_ARGS);
    for (let part = 1; part < threads; part++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        execArgv: [], // plain JS: no loader hooks of the parent (vitest, tsx)
        workerData: { module, memory, control, names: this.names, part, parts: threads, port: port2 },
        transferList: [port2],
      });
      worker.unref(); // idle helpers must not keep the process alive
      port1.unref();
      this.ports.push(port1);
    }
  }

  /** Runs kernel `name` with `args` followed by (part, parts) on `threads` threads (default all); returns when all parts are done. */
  run(name: string, args: number[], threads = this.threads): void {
    const fn = this.functions[name];
    if (threads === 1) {
      fn(...args, 0, 1);
      return;
    }
    this.args.set(args);
    this.word[1] = this.names.indexOf(name);
    this.word[2] = args.length;
    Atomics.store(this.word, 3, 0);
    Atomics.add(this.word, 0, 1);
    Atomics.notify(this.word, 0);
    try {
      fn(...args, 0, this.threads);
    } finally {
      this.awaitHelpers(name); // also when this part failed: the next job must not start under them
    }
  }

  private awaitHelpers(name: string): void {
    const helpers = this.threads - 1;
    const deadline = Date.now() + PART_TIMEOUT_MS;
    for (let done = Atomics.load(this.word, 3); done < helpers; done = Atomics.load(this.word, 3)) {
      if (Date.now() > deadline)
        throw new BackendError(`wasm kernel ${name}: a helper thread did not finish its part within ${PART_TIMEOUT_MS / 1000} s`);
      Atomics.wait(this.word, 3, done, 1000);
    }
    if (Atomics.exchange(this.word, 4, 0) > 0) {
      const reasons = this.ports.map((p) => receiveMessageOnPort(p)?.message).filter(Boolean);
      throw new BackendError(`wasm kernel ${name} failed in a helper thread: ${reasons.join('; ')}`);
    }
  }
}
