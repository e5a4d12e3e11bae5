/**
 * The threaded-SIMD build of the TensorFlow.js wasm backend under Node.
 *
 * tfjs turns wasm multithreading off under Node (tfjs issue #3830): its loader hands
 * Emscripten Blob URLs for the pthread worker script and the main script, which Node's
 * worker_threads cannot load. This module registers a `wasm` backend factory that
 * instantiates the threaded-SIMD module itself with plain file paths (the worker script is
 * written once to a temporary file), then builds the stock `BackendWasm` on it, so all the
 * stock kernels run with an XNNPACK thread pool. It touches loader internals of exactly
 * @tensorflow/tfjs-backend-wasm 4.22.0 and refuses any other version. Any failure falls back
 * to the stock single-threaded backend.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { threadId } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../errors';

export const SUPPORTED_WASM_VERSION = '4.22.0';
const INIT_TIMEOUT_MS = 30_000;

/** The shared memory (heap) of a threaded backend built here, and its XNNPACK thread count. */
export interface SharedHeap {
  memory: { readonly buffer: ArrayBuffer | SharedArrayBuffer; grow(pages: number): number };
  threads: number;
}

const sharedHeaps = new WeakMap<object, SharedHeap>();

/** The heap of `backend` if it is a threaded wasm backend built by registerThreadedWasm (src/ops/wasm runs kernels in it). */
export function sharedHeapOf(backend: object): SharedHeap | undefined {
  return sharedHeaps.get(backend);
}

/** What the registered factory ended up building (filled when the backend is created). */
export interface ThreadedWasmStatus {
  threads: number; // threads for compute (XNNPACK's, or our kernels' when they run); 1 after a fallback
  fallbackReason?: string;
}

type EmscriptenModule = {
  cwrap: (name: string, ret: string | null, args: string[]) => (...a: number[]) => number;
  tfjs?: Record<string, unknown>;
  PThread?: { runningWorkers: { unref(): void }[] };
};

/**
 * Replaces the registered `wasm` factory by one that loads the threaded-SIMD build with
 * `threads` threads, falling back to the stock factory on any failure. Call before
 * tf.setBackend('wasm'); `status` is filled when the backend is created.
 *
 * `xnnpackThreads` (default `threads`) sizes the stock kernels' XNNPACK pool. When our own
 * kernels (src/ops/wasm) do the heavy products on `threads` threads, give XNNPACK 1: its
 * idle pool threads spin after every op they run and take the second core from ours.
 */
export function registerThreadedWasm(threads: number, xnnpackThreads = threads): ThreadedWasmStatus {
  require('@tensorflow/tfjs-backend-wasm'); // registers the kernels and the stock factory
  const stock = tf.findBackendFactory('wasm');
  if (!stock) throw new BackendError('@tensorflow/tfjs-backend-wasm registered no wasm backend factory');
  const status: ThreadedWasmStatus = { threads: 1 };
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      try {
        const backend = await withTimeout(createThreadedBackend(threads, xnnpackThreads), INIT_TIMEOUT_MS);
        status.threads = threads;
        return backend;
      } catch (error) {
        status.fallbackReason = error instanceof Error ? error.message : String(error);
        return stock();
      }
    },
    2,
  );
  return status;
}

async function createThreadedBackend(threads: number, xnnpackThreads: number): Promise<tf.KernelBackend> {
  const wasmPkg = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const version = JSON.parse(fs.readFileSync(path.join(wasmPkg, 'package.json'), 'utf8')).version;
  if (version !== SUPPORTED_WASM_VERSION) {
    throw new Error(`threaded wasm loader supports @tensorflow/tfjs-backend-wasm ${SUPPORTED_WASM_VERSION}, found ${version}`);
  }
  if (typeof SharedArrayBuffer === 'undefined') throw new Error('SharedArrayBuffer is not available');
  const outDir = path.join(wasmPkg, 'wasm-out');
  const mainScript = path.join(outDir, 'tfjs-backend-wasm-threaded-simd.js');
  const workerScript = writeWorkerScript(path.join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js'), version);
  const factory = require(mainScript) as (config: object) => Promise<EmscriptenModule>;
  const instantiation = instantiateWithCores(path.join(outDir, 'tfjs-backend-wasm-threaded-simd.wasm'), threads);
  const module = await Promise.race([
    factory({
      locateFile: (file: string, prefix: string) => (file.endsWith('.worker.js') ? workerScript : prefix + file),
      mainScriptUrlOrBlob: mainScript, // a path: the worker script evaluates it with importScripts
      instantiateWasm: instantiation.hook,
    }),
    instantiation.failed,
  ]);
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  const wasmApi = await import('@tensorflow/tfjs-backend-wasm');
  wasmApi.setThreadsCount(xnnpackThreads);
  const backend = new wasmApi.BackendWasm(module as never);
  if (wasmApi.getThreadsCount() !== xnnpackThreads) {
    throw new Error(`asked XNNPACK for ${xnnpackThreads} threads, it reports ${wasmApi.getThreadsCount()}`);
  }
  const memory = await instantiation.memory;
  if (memory) sharedHeaps.set(backend, { memory, threads });
  // The pool's workers would keep Node alive after the program ends.
  for (const worker of module.PThread?.runningWorkers ?? []) worker.unref();
  return backend;
}

type WasmImports = Record<string, Record<string, unknown>>;
// The DOM lib (which types WebAssembly) is not in this project's tsconfig: the part we use.
type WasmInstance = object;
type WasmModule = object;
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: WasmImports): Promise<{ instance: WasmInstance; module: WasmModule }>;
  Memory: new (...args: never[]) => SharedHeap['memory'];
};

/**
 * Emscripten's instantiateWasm hook. The backend caps its XNNPACK pool at half the logical
 * cores it is told about (it assumes 2 hyper-threads per core), read once at start-up; on a
 * 2-core machine that is 1 thread whatever is asked. We report 2·threads cores to the module.
 * The shared memory the module imports is kept (`memory`) for the fused kernels.
 */
function instantiateWithCores(wasmFile: string, threads: number) {
  let fail: (error: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  let found: (memory: SharedHeap['memory'] | undefined) => void = () => undefined;
  const memory = new Promise<SharedHeap['memory'] | undefined>((resolve) => {
    found = resolve;
  });
  const hook = (imports: WasmImports, receiveInstance: (i: WasmInstance, m: WasmModule) => void) => {
    found(
      Object.values(imports)
        .flatMap((fields) => Object.values(fields))
        .find((v) => v instanceof WebAssembly.Memory) as SharedHeap['memory'] | undefined,
    );
    const env = { ...imports.env, emscripten_num_logical_cores: () => 2 * threads };
    WebAssembly.instantiate(fs.readFileSync(wasmFile), { ...imports, env })
      .then(({ instance, module }) => receiveInstance(instance, module))
      .catch(fail);
    return {}; // asynchronous instantiation
  };
  return { hook, failed, memory };
}

/**
 * Writes the pthread worker script (shipped as a JS string for Blob URLs) to a `.cjs` file
 * once per version and user; written to a temp name and renamed, so concurrent loads are safe.
 */
function writeWorkerScript(moduleWithContents: string, version: string): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const target = path.join(os.tmpdir(), `lora-recycle-tfjs-wasm-${version}-${uid}.worker.cjs`);
  // The shipped string holds "\n" escapes that became real newlines; tfjs re-escapes them too.
  const contents = (require(moduleWithContents).wasmWorkerContents as string).replace(/\n/g, '\\n');
  if (fs.existsSync(target) && fs.readFileSync(target, 'utf8') === contents) return target;
  const temp = `${target}.${process.pid}.${threadId}.tmp`;
  fs.writeFileSync(temp, contents);
  fs.renameSync(temp, target);
  return target;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`threaded wasm did not initialise within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
