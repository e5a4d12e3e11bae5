import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '../composite-kernel';

interface WasmBackendInternals {
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  wasm: { HEAPF32: Float32Array };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: Float32Array): TensorInfo;
}

interface CpuBackendInternals {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): TensorInfo;
}

/** Values of a float32 tensor handle, without a copy where the backend allows (wasm heap view). */
export function readFloat32(backend: tf.KernelBackend, info: TensorInfo): Float32Array {
  const size = info.shape.reduce((a, b) => a * b, 1);
  if (tf.getBackend() === 'wasm') {
    const wasm = backend as unknown as WasmBackendInternals;
    const offset = wasm.dataIdMap.get(info.dataId).memoryOffset / 4;
    return wasm.wasm.HEAPF32.subarray(offset, offset + size);
  }
  return backend.readSync(info.dataId) as Float32Array;
}

/** A new float32 tensor handle holding a copy of `values` (which may be reused afterwards). */
export function writeFloat32(backend: tf.KernelBackend, shape: number[], values: Float32Array): TensorInfo {
  if (tf.getBackend() === 'wasm') return (backend as unknown as WasmBackendInternals).makeOutput(shape, 'float32', undefined, values);
  return (backend as unknown as CpuBackendInternals).makeTensorInfo(shape, 'float32', values.slice());
}
