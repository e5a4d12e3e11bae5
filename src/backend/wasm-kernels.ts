import * as tf from '@tensorflow/tfjs';

type DataRef = { dataId: object; shape: number[]; dtype: tf.DataType };
type RefCountingBackend = tf.KernelBackend & { incRef(dataId: object): void };

/**
 * Replaces the wasm `Identity` kernel, which copies its input, by one that shares the data
 * (reference count), as the cpu backend and the wasm `Reshape` do. tfjs clones every tensor a
 * gradient saves through `Identity`, so this removes one full copy per saved activation.
 * Tensors are immutable, so sharing is safe. Strings keep the stock kernel.
 */
export function registerSharingIdentity(): void {
  const stock = tf.getKernel('Identity', 'wasm');
  if (!stock || (stock as { sharing?: boolean }).sharing) return;
  tf.unregisterKernel('Identity', 'wasm');
  const kernel = {
    kernelName: 'Identity',
    backendName: 'wasm',
    sharing: true,
    kernelFunc: (args: { inputs: tf.NamedTensorMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }) => {
      const x = args.inputs.x as unknown as DataRef;
      if (x.dtype === 'string') return stock.kernelFunc(args as never);
      (args.backend as RefCountingBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  };
  tf.registerKernel(kernel as unknown as tf.KernelConfig);
}
