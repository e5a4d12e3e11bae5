import * as tf from '@tensorflow/tfjs';

/** Forward value and its gradient w.r.t. each input, as tf.customGrad expects. */
export interface ValueAndGradient {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

/** A typed wrapper of tf.customGrad: `f` receives the input tensors and the save function. */
export function customGradient(f: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => ValueAndGradient): (...inputs: tf.Tensor[]) => tf.Tensor {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    return f(args.slice(0, -1) as tf.Tensor[], save);
  });
  return (...inputs: tf.Tensor[]) => op(...inputs);
}
