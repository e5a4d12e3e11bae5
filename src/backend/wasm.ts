import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { BackendError, ConfigError } from '../errors';
import { compiledKernelsEnabled } from './compiled-module';
import { registerSharingIdentity } from './wasm-kernels';
import { registerThreadedWasm } from './wasm-threads';

/** Environment variable: 0 = single-threaded wasm; N = N threads; unset = min(2, CPU count). */
export const WASM_THREADS_ENV = 'LORA_RECYCLE_WASM_THREADS';

export interface WasmBackendInfo {
  simd: boolean;
  threads: number; // compute threads actually in use
  /** Whether the compiled kernels (src/ops/wasm) run the products, attention and norms. */
  fusedKernels: boolean;
  fallbackReason?: string; // why the threaded build was not used, if it was asked for
}

let info: WasmBackendInfo | undefined;

/**
 * Registers the wasm backend and makes it the active one: the threaded-SIMD build with
 * LORA_RECYCLE_WASM_THREADS threads (default min(2, CPUs)) under Node, else the stock
 * single-threaded SIMD build, with a copy-free Identity kernel (see wasm-kernels.ts). With the
 * compiled kernels (dist/wasm/kernels.wasm; LORA_RECYCLE_FUSED_KERNELS=0 turns them off) those
 * threads are theirs and XNNPACK keeps one.
 * Idempotent; the thread count is fixed at the first call.
 */
export async function initWasmBackend(): Promise<WasmBackendInfo> {
  if (info && tf.getBackend() === 'wasm') return info;
  const threads = requestedThreads();
  const fusedKernels = compiledKernelsEnabled();
  const status = threads > 1 && isNode() ? registerThreadedWasm(threads, fusedKernels ? 1 : threads) : undefined;
  if (!status) await import('@tensorflow/tfjs-backend-wasm');
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new BackendError('the wasm backend failed to initialise (tf.setBackend("wasm") returned false)');
  await tf.ready();
  registerSharingIdentity();
  info = {
    simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    threads: status ? status.threads : 1,
    fusedKernels,
    ...(status?.fallbackReason ? { fallbackReason: status.fallbackReason } : {}),
  };
  return info;
}

function requestedThreads(): number {
  const raw = process.env[WASM_THREADS_ENV];
  if (raw === undefined || raw === '') return Math.min(2, os.cpus().length);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new ConfigError(`${WASM_THREADS_ENV} must be a non-negative integer, found "${raw}"`);
  }
  return Math.max(1, n);
}

function isNode(): boolean {
  return typeof process !== 'undefined' && Boolean(process.versions?.node);
}
