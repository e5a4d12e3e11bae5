import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../../errors';
import { sharedHeapOf } from '../../backend/wasm-threads';
import type { TensorInfo } from '../composite-kernel';
import { compiledKernelsEnabled, kernelsModule, wasmApi, type WasmMemory } from '../../backend/compiled-module';
import { readFloat32, writeFloat32 } from './tensor-data';
import { KernelThreads } from './thread-pool';

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, the most a wasm32 memory can hold
/** Calls with less work than this (≈ flops) run on the calling thread alone: waking a helper costs more. */
export const SMALL_WORK = 1 << 21;

interface WasmBackendInternals {
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  wasm: { _malloc(bytes: number): number; _free(pointer: number): void };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  disposeData(dataId: object): boolean;
}

/**
 * One call of a fused kernel: where its inputs, outputs and scratch live. On the threaded
 * wasm backend the kernels run in the tfjs heap itself (inputs read in place, outputs
 * allocated as tfjs tensors: no copies) on the backend's thread count; elsewhere (cpu, the
 * single-threaded wasm build) they run single-threaded in a memory of their own, with
 * inputs copied in and outputs copied out.
 */
export interface KernelCall {
  readonly parts: number; // the most threads a call can use: scratch is laid out per part
  input(t: TensorInfo): number; // byte address of t's values
  output(shape: number[]): number; // byte address of a new float32 output
  scratch(floats: number): number;
  /** A zeroed int32 the threads claim chunks of work through (kernels.c next_chunk). */
  counter(): number;
  /** Runs kernel `name` with `args`, then (part, parts); `work` (≈ flops) below SMALL_WORK runs on one thread. */
  run(name: string, args: number[], work?: number): void;
  /** The outputs, in the order they were asked for; frees the scratch. */
  finish(): TensorInfo[];
}

/** Whether fused kernels can run here: built, on wasm or cpu, and not turned off. */
export function fusedKernelsActive(): boolean {
  return ['wasm', 'cpu'].includes(tf.getBackend()) && compiledKernelsEnabled();
}

export function beginCall(backend: tf.KernelBackend): KernelCall {
  const heap = tf.getBackend() === 'wasm' ? sharedHeapOf(backend) : undefined;
  return heap
    ? new InPlaceCall(backend as unknown as WasmBackendInternals, heap.memory, threadsOn(heap.memory, heap.threads))
    : new CopyingCall(backend);
}

const pools = new WeakMap<WasmMemory, KernelThreads>();

function threadsOn(memory: WasmMemory, threads: number): KernelThreads {
  let pool = pools.get(memory);
  if (!pool) {
    pool = new KernelThreads(kernelsModule() as object, memory, threads);
    pools.set(memory, pool);
  }
  return pool;
}

class InPlaceCall implements KernelCall {
  private readonly outputs: TensorInfo[] = [];
  private readonly scratches: number[] = [];

  readonly parts: number; // scratch is laid out for the most threads a call can use

  constructor(
    private readonly backend: WasmBackendInternals,
    private readonly memory: WasmMemory,
    private readonly threads: KernelThreads,
  ) {
    this.parts = threads.threads;
  }

  input(t: TensorInfo): number {
    return this.backend.dataIdMap.get(t.dataId).memoryOffset;
  }

  output(shape: number[]): number {
    const info = this.backend.makeOutput(shape, 'float32');
    this.outputs.push(info);
    return this.backend.dataIdMap.get(info.dataId).memoryOffset;
  }

  scratch(floats: number): number {
    const pointer = this.backend.wasm._malloc(Math.max(16, floats * 4)) >>> 0;
    this.scratches.push(pointer);
    return pointer;
  }

  counter(): number {
    const address = this.scratch(1);
    new Int32Array(this.memory.buffer, address, 1)[0] = 0;
    return address;
  }

  run(name: string, args: number[], work = Infinity): void {
    try {
      this.threads.run(name, args, work < SMALL_WORK ? 1 : this.threads.threads);
    } catch (error) {
      // nothing of a failed call stays allocated
      for (const info of this.outputs) this.backend.disposeData(info.dataId);
      this.freeScratch();
      throw error;
    }
  }

  finish(): TensorInfo[] {
    this.freeScratch();
    return this.outputs;
  }

  private freeScratch(): void {
    for (const p of this.scratches.splice(0)) this.backend.wasm._free(p);
  }
}

/** Our own memory for the copying calls (one call at a time: JS is single-threaded). */
let own: { memory: WasmMemory; threads: KernelThreads } | undefined;

class CopyingCall implements KernelCall {
  private readonly outputs: { address: number; shape: number[] }[] = [];
  private readonly copies: { address: number; values: Float32Array }[] = [];
  private end = PAGE; // the kernels use no stack or static data; the first page stays unused
  readonly parts = 1;

  constructor(private readonly backend: tf.KernelBackend) {
    own ??= (() => {
      const memory = new wasmApi.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
      return { memory, threads: new KernelThreads(kernelsModule() as object, memory, 1) };
    })();
  }

  private allocate(floats: number): number {
    const address = this.end;
    this.end += (floats * 4 + 15) & ~15;
    return address;
  }

  input(t: TensorInfo): number {
    const values = readFloat32(this.backend, t);
    const address = this.allocate(values.length);
    this.copies.push({ address, values });
    return address;
  }

  output(shape: number[]): number {
    const address = this.allocate(shape.reduce((a, b) => a * b, 1));
    this.outputs.push({ address, shape });
    return address;
  }

  scratch(floats: number): number {
    return this.allocate(floats);
  }

  counter(): number {
    const address = this.allocate(1);
    this.copies.push({ address, values: new Float32Array(1) }); // 0.0f is int32 0
    return address;
  }

  run(name: string, args: number[]): void {
    // one thread: `work` does not matter
    const { memory, threads } = own as NonNullable<typeof own>;
    const missing = this.end - memory.buffer.byteLength;
    if (missing > 0) {
      if (this.end > MAX_PAGES * PAGE) {
        throw new BackendError(
          `wasm kernel ${name} needs ${(this.end / 2 ** 20).toFixed(0)} MiB, more than the 4 GiB a wasm memory holds; use smaller batches`,
        );
      }
      memory.grow(Math.ceil(missing / PAGE));
    }
    for (const { address, values } of this.copies) new Float32Array(memory.buffer, address, values.length).set(values);
    threads.run(name, args);
  }

  finish(): TensorInfo[] {
    const { memory } = own as NonNullable<typeof own>;
    return this.outputs.map(({ address, shape }) =>
      writeFloat32(
        this.backend,
        shape,
        new Float32Array(
          memory.buffer,
          address,
          shape.reduce((a, b) => a * b, 1),
        ),
      ),
    );
  }
}
