import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../errors';

type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>; // one thunk per input

/**
 * A stock kernel run under a private name, so it carries our own gradient without touching
 * the gradient tfjs registers for the stock kernel. Unlike tf.customGrad, each input's
 * gradient is a thunk: it is computed only if that input needs one (e.g. frozen weights cost
 * nothing). The alias is registered for the active backend on first use.
 */
export function aliasKernel(
  alias: string,
  stockKernel: string,
  inputsToSave: string[],
  gradFunc: GradFunc,
): (inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => tf.Tensor {
  tf.registerGradient({ kernelName: alias, inputsToSave, gradFunc: (dy, saved) => gradFunc(dy as tf.Tensor, saved) });
  return (inputs, attrs) => {
    const backend = tf.getBackend();
    if (!tf.getKernel(alias, backend)) {
      const stock = tf.getKernel(stockKernel, backend);
      if (!stock) throw new BackendError(`backend "${backend}" has no kernel ${stockKernel}, needed by ${alias}`);
      tf.registerKernel({ kernelName: alias, backendName: backend, kernelFunc: stock.kernelFunc });
    }
    return tf.engine().runKernel(alias, inputs as tf.NamedTensorMap, attrs as never) as tf.Tensor;
  };
}
