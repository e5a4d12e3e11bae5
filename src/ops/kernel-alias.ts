import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../errors';

type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>; // one thunk per input
type Invoke = (inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => tf.Tensor;

/** What a kernel function receives and returns: tensor handles of the backend, not tf.Tensors. */
export type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };
export type KernelBody = (inputs: Record<string, TensorInfo>, backend: tf.KernelBackend, attrs: Record<string, unknown>) => TensorInfo;

/**
 * A stock kernel run under a private name, so it carries our own gradient without touching
 * the gradient tfjs registers for the stock kernel. Unlike tf.customGrad, each input's
 * gradient is a thunk: it is computed only if that input needs one (e.g. frozen weights cost
 * nothing). The alias is registered for the active backend on first use.
 */
export function aliasKernel(alias: string, stockKernel: string, inputsToSave: string[], gradFunc: GradFunc): Invoke {
  return compositeKernel(alias, (inputs, backend, attrs) => runStock(stockKernel, backend, inputs, attrs), inputsToSave, gradFunc);
}

/**
 * A kernel made of stock kernels (`body` calls them through runStock on tensor handles, and
 * disposes its intermediates), with a gradient given as one thunk per input like aliasKernel.
 * The forward is one node on the gradient tape, so none of its intermediates is saved.
 */
export function compositeKernel(name: string, body: KernelBody, inputsToSave: string[], gradFunc: GradFunc): Invoke {
  tf.registerGradient({ kernelName: name, inputsToSave, gradFunc: (dy, saved) => gradFunc(dy as tf.Tensor, saved) });
  return (inputs, attrs) => {
    const backendName = tf.getBackend();
    if (!tf.getKernel(name, backendName)) {
      tf.registerKernel({
        kernelName: name,
        backendName,
        kernelFunc: ({ inputs: given, backend, attrs: a }) =>
          body(given as unknown as Record<string, TensorInfo>, backend as tf.KernelBackend, (a ?? {}) as Record<string, unknown>),
      });
    }
    return tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as never) as tf.Tensor;
  };
}

/** Runs the stock kernel `kernelName` of `backend` on tensor handles (inside a kernel body). */
export function runStock(kernelName: string, backend: tf.KernelBackend, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown> = {}): TensorInfo {
  const backendName = tf.getBackend();
  const stock = tf.getKernel(kernelName, backendName);
  if (!stock) throw new BackendError(`backend "${backendName}" has no kernel ${kernelName}`);
  return stock.kernelFunc({ inputs: inputs as never, backend, attrs: attrs as never }) as TensorInfo;
}
