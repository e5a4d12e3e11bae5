import * as tf from '@tensorflow/tfjs';

type KernelArgs = Parameters<tf.KernelConfig['kernelFunc']>[0];

/**
 * Corrects the native backend where TensorFlow 2.21 behaves differently from the libtensorflow
 * 2.9 that tfjs-node 4.22 was written for (found by scripts/native/op-conformance.js, which runs
 * tfjs-core's op suite on it; bench/results/native-op-conformance.json):
 * - Round on int32 returns zeros; integers are their own rounding, so the kernel returns its input.
 * Idempotent; called when the native backend is activated.
 */
export function registerNativeWorkarounds(): void {
  const stock = tf.getKernel('Round', 'tensorflow');
  if (!stock || (stock as { corrected?: boolean }).corrected) return;
  tf.unregisterKernel('Round', 'tensorflow');
  tf.registerKernel({
    kernelName: 'Round',
    backendName: 'tensorflow',
    corrected: true,
    kernelFunc: (args: KernelArgs) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype !== 'int32') return stock.kernelFunc(args);
      (args.backend as tf.KernelBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  } as tf.KernelConfig);
}
