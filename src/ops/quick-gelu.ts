import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient';
import { compositeKernel, kernelWithoutGradient, type TensorInfo } from './composite-kernel';
import { beginCall, fusedKernelsActive } from './wasm/runtime';

/**
 * CLIP's QuickGELU, x·σ(1.702·x); any shape. Gradient dy·σ(u)·(1 + u·(1 − σ(u))), u = 1.702·x.
 * On wasm/cpu each direction is one pass of kernels.c over the saved x; elsewhere stock kernels
 * with the saved u and σ(u).
 */
export function quickGelu<T extends tf.Tensor>(x: T): T {
  if (fusedKernelsActive()) return tf.reshape(compiledGelu({ x }, {}), x.shape) as T;
  return stockGelu(x) as T;
}

function compiled(name: string, inputs: TensorInfo[], backend: tf.KernelBackend): TensorInfo {
  const call = beginCall(backend);
  const addresses = inputs.map((t) => call.input(t));
  const out = call.output(inputs[0].shape);
  const n = inputs[0].shape.reduce((a, b) => a * b, 1);
  call.run(name, [n, ...addresses, out], 20 * n);
  return call.finish()[0];
}

const compiledGelu = compositeKernel(
  'LoraRecycleQuickGelu',
  ({ x }, backend) => compiled('quick_gelu_forward', [x], backend),
  ['x'],
  (dy, [x]) => ({ x: () => compiledGeluGradient({ x, dy }, {}) }),
);

const compiledGeluGradient = kernelWithoutGradient('LoraRecycleQuickGeluGrad', ({ x, dy }, backend) =>
  compiled('quick_gelu_backward', [x, dy], backend),
);

const stockGelu = customGradient(([x], save) => {
  const u = tf.mul(x, 1.702);
  const s = tf.sigmoid(u);
  save([u, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy, [su, ss]) => tf.mul(dy, tf.mul(ss, tf.add(tf.mul(su, tf.sub(1, ss)), 1))),
  };
});
