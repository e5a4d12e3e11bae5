import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient';
import { compositeKernel, kernelWithoutGradient, type TensorInfo } from './composite-kernel';
import { expectRank, expectSize } from './shapes';
import { beginCall, fusedKernelsActive } from './wasm/runtime';

/**
 * Layer normalisation over the last axis: x [M, D], gamma [D], beta [D] → [M, D].
 * The normalisation x̂ = (x − μ)·r, r = 1/√(σ² + ε), carries a hand-written gradient
 * dx = r·(g − mean(g) − x̂·mean(g·x̂)) with g = dL/dx̂; the affine part x̂·gamma + beta keeps the
 * stock gradients, which tfjs computes only for inputs that need them (frozen gamma and beta cost
 * nothing). About half the kernels of the autodiff gradient of the same formula.
 * On wasm/cpu the whole of it is one pass of kernels.c each way (μ and r recomputed from x).
 */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  expectRank(x, 2, 'layerNorm: x');
  expectRank(gamma, 1, 'layerNorm: gamma');
  expectRank(beta, 1, 'layerNorm: beta');
  expectSize(gamma.shape[0], x.shape[1], 'layerNorm: gamma length');
  expectSize(beta.shape[0], x.shape[1], 'layerNorm: beta length');
  if (fusedKernelsActive()) return compiledLayerNorm({ x, gamma, beta }, { eps }) as tf.Tensor2D;
  return tf.tidy(() => tf.add(tf.mul(normalise(eps)(x), gamma), beta));
}

function compiled(name: string, x: TensorInfo, gamma: TensorInfo, other: TensorInfo, eps: number, backend: tf.KernelBackend): TensorInfo {
  const call = beginCall(backend);
  const [px, pg, po] = [x, gamma, other].map((t) => call.input(t));
  const out = call.output(x.shape);
  call.run(name, [x.shape[0], x.shape[1], px, pg, po, eps, out], 10 * x.shape[0] * x.shape[1]);
  return call.finish()[0];
}

const compiledLayerNorm = compositeKernel(
  'LoraRecycleLayerNorm',
  ({ x, gamma, beta }, backend, attrs) => compiled('layernorm_forward', x, gamma, beta, attrs.eps as number, backend),
  ['x', 'gamma'],
  (dy, [x, gamma], attrs) => {
    const eps = attrs.eps as number;
    const xHat = () =>
      tf.tidy(() => {
        const centred = tf.sub(x, tf.mean(x, 1, true));
        return tf.mul(centred, tf.rsqrt(tf.add(tf.mean(tf.square(centred), 1, true), eps)));
      });
    return {
      x: () => compiledLayerNormGradient({ x, gamma, dy }, { eps }),
      gamma: () => tf.sum(tf.mul(dy, xHat()), 0),
      beta: () => tf.sum(dy, 0),
    };
  },
);

const compiledLayerNormGradient = kernelWithoutGradient('LoraRecycleLayerNormGrad', ({ x, gamma, dy }, backend, attrs) =>
  compiled('layernorm_backward', x, gamma, dy, attrs.eps as number, backend),
);

const byEps = new Map<number, (...inputs: tf.Tensor[]) => tf.Tensor>();

/** x [M, D] → x̂ [M, D], zero mean and unit variance per row. */
function normalise(eps: number): (...inputs: tf.Tensor[]) => tf.Tensor {
  let op = byEps.get(eps);
  if (!op) {
    op = customGradient(([x], save) => {
      const [xHat, rstd] = tf.tidy(() => {
        const mean = tf.mean(x, 1, true); // [M, 1]
        const centred = tf.sub(x, mean); // [M, D]
        const r = tf.rsqrt(tf.add(tf.mean(tf.square(centred), 1, true), eps)); // [M, 1]
        return [tf.mul(centred, r), r];
      });
      save([xHat, rstd]);
      return {
        value: xHat,
        gradFunc: (g, [sxHat, srstd]) => {
          const inner = tf.sub(tf.sub(g, tf.mean(g, 1, true)), tf.mul(sxHat, tf.mean(tf.mul(g, sxHat), 1, true)));
          return tf.mul(inner, srstd);
        },
      };
    });
    byEps.set(eps, op);
  }
  return op;
}
