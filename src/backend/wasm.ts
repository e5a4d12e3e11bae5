import * as tf from '@tensorflow/tfjs';

/** Registers the wasm backend (single-threaded SIMD build) and makes it the active one. */
export async function initWasmBackend(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('the wasm backend failed to initialise');
  await tf.ready();
}
