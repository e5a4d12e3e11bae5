import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../errors';

type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[], attrs: Record<string, unknown>) => Record<string, () => tf.Tensor>; // one thunk per input
type Invoke = (inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => tf.Tensor;

/** What a kernel function receives and returns: tensor handles of the backend, not tf.Tensors. */
export type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };
export type KernelBody = (inputs: Record<string, TensorInfo>, backend: tf.KernelBackend, attrs: Record<string, unknown>) => TensorInfo;

/**
 * A kernel of our own name: `body` runs stock kernels (through runStock on tensor handles,
 * disposing its intermediates) or the compiled kernels (src/ops/wasm). Unlike tf.customGrad,
 * its gradient is one thunk per input, computed only if that input needs one (frozen weights
 * cost nothing). The forward is one node on the gradient tape, so none of its intermediates is
 * saved. The kernel is registered for the active backend on first use.
 */
export function compositeKernel(name: string, body: KernelBody, inputsToSave: string[], gradFunc: GradFunc): Invoke {
  tf.registerGradient({
    kernelName: name,
    inputsToSave,
    gradFunc: (dy, saved, attrs) => gradFunc(dy as tf.Tensor, saved, (attrs ?? {}) as Record<string, unknown>),
  });
  return kernelWithoutGradient(name, body);
}

/** A kernel for the computations inside gradients (no gradient of its own), registered for the active backend on first use. */
export function kernelWithoutGradient(name: string, body: KernelBody): Invoke {
  return (inputs, attrs) => {
    registerForActiveBackend(name, body);
    return tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as never) as tf.Tensor;
  };
}

/** Registers `body` as kernel `name` of the active backend, unless it already is. */
export function registerForActiveBackend(name: string, body: (...args: Parameters<KernelBody>) => TensorInfo | TensorInfo[]): void {
  const backendName = tf.getBackend();
  if (tf.getKernel(name, backendName)) return;
  tf.registerKernel({
    kernelName: name,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) =>
      body(inputs as unknown as Record<string, TensorInfo>, backend as tf.KernelBackend, (attrs ?? {}) as Record<string, unknown>),
  });
}

/** Runs the stock kernel `kernelName` of `backend` on tensor handles (inside a kernel body). */
export function runStock(
  kernelName: string,
  backend: tf.KernelBackend,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown> = {},
): TensorInfo {
  const backendName = tf.getBackend();
  const stock = tf.getKernel(kernelName, backendName);
  if (!stock) throw new BackendError(`backend "${backendName}" has no kernel ${kernelName}`);
  return stock.kernelFunc({ inputs: inputs as never, backend, attrs: attrs as never }) as TensorInfo;
}
