import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initWasmBackend, type WasmBackendInfo } from '../../src/backend/wasm';
import { kernelsModule, wasmApi } from '../../src/backend/compiled-module';
import { KernelThreads } from '../../src/ops/wasm/thread-pool';
import { expectCompiledMatchesStock, KERNEL_CASES, SMALL_WORK } from './compiled-kernels-cases';

let info: WasmBackendInfo;
beforeAll(async () => {
  info = await initWasmBackend();
});

describe('compiled kernels on the threaded wasm backend (in the tfjs heap, every thread)', () => {
  it('are built and in use, with the backend threads', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(info.fusedKernels, 'dist/wasm/kernels.wasm missing: `npm run build:wasm`').toBe(true);
    expect(info.threads).toBeGreaterThanOrEqual(1);
  });

  it('the cases are big enough to be split between threads', () => {
    expect(KERNEL_CASES.filter((c) => c.work >= SMALL_WORK).length).toBeGreaterThanOrEqual(5);
  });

  for (const c of KERNEL_CASES) {
    it(`${c.name}: same value and gradients as the stock kernels`, () => expectCompiledMatchesStock(c));
  }
});

describe('kernel thread pool', () => {
  it('reports a kernel that traps in a helper thread as a BackendError, and runs the next call normally', () => {
    const module = kernelsModule();
    expect(module).not.toBeNull();
    const memory = new wasmApi.Memory({ initial: 32, maximum: 64, shared: true });
    const pool = new KernelThreads(module as object, memory, 2);
    const f = new Float32Array(memory.buffer);
    const [m, n, k] = [64, 16, 16];
    const [a, b, c, counter] = [65536, 65536 + 4 * m * k, 65536 + 4 * (m * k + k * n), 65536 + 4 * (m * k + k * n + m * n)];
    f.fill(1, a / 4, (b + 4 * k * n) / 4);
    const product = (aAddress: number) => {
      new Int32Array(memory.buffer)[counter / 4] = 0;
      pool.run('matmul', [m, n, k, aAddress, 0, b, 0, 0, c, 0, counter]);
    };
    expect(() => product(64 * 65536 - 16)).toThrow(); // A runs past the end of memory: both parts trap
    product(a);
    expect(Array.from(f.subarray(c / 4, c / 4 + m * n)).every((x) => x === k)).toBe(true);
  });
});
