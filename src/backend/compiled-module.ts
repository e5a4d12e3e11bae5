import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../paths/package-root';

/** The parts of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
export type WasmModule = object;
export interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Where `npm run build:wasm` (scripts/build-wasm-kernels.sh) writes the compiled kernels.c. */
export function kernelsWasmPath(): string {
  return path.join(packageRoot(), 'dist', 'wasm', 'kernels.wasm');
}

let compiled: WasmModule | null | undefined;

/** The compiled kernels (they import a shared memory `env.memory`), or null when not built. */
export function kernelsModule(): WasmModule | null {
  if (compiled === undefined) {
    const file = kernelsWasmPath();
    compiled = fs.existsSync(file) ? new wasmApi.Module(fs.readFileSync(file)) : null;
  }
  return compiled;
}

/** Built and not turned off (LORA_RECYCLE_FUSED_KERNELS=0 selects the stock kernels). */
export function compiledKernelsEnabled(): boolean {
  return process.env.LORA_RECYCLE_FUSED_KERNELS !== '0' && kernelsModule() !== null;
}
