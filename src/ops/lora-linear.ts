import * as tf from '@tensorflow/tfjs';
import { compositeKernel, runStock } from './composite-kernel';
import { matMul2d, transposedProduct } from './mat-mul-2d';
import { expectRank, expectSize } from './shapes';
import { wasmProduct } from './wasm/product';
import { fusedKernelsActive } from './wasm/runtime';

/**
 * A LoRA-adapted projection as one product: x·(W + s·A·B) + bias, equal to
 * x·W + bias + s·(x·A)·B (method.md §1.1). x [M, in], kernel W [in, out], bias [out] (optional),
 * a A [in, r], b B [r, out] → [M, out].
 *
 * The forward merges the low-rank update into the weight (an [in, out] sum, cheap) and runs one
 * fused product-and-bias kernel instead of three products and an add over M rows. The gradients
 * stay low-rank: dA = s·xᵀ·(dy·Bᵀ), dB = s·(x·A)ᵀ·dy, dx = dy·(W + s·A·B)ᵀ, dW = xᵀ·dy,
 * dbias = Σ dy, each computed only for the inputs that need one (frozen W and bias cost nothing).
 */
export function loraLinear(
  x: tf.Tensor2D,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D | undefined,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  scale: number,
): tf.Tensor2D {
  expectRank(x, 2, 'loraLinear: x');
  expectRank(kernel, 2, 'loraLinear: kernel');
  expectRank(a, 2, 'loraLinear: A');
  expectRank(b, 2, 'loraLinear: B');
  const [inputs, outputs] = kernel.shape;
  expectSize(x.shape[1], inputs, `loraLinear: columns of x (kernel is [${kernel.shape}])`);
  expectSize(a.shape[0], inputs, 'loraLinear: rows of A (inputs of kernel)');
  expectSize(b.shape[0], a.shape[1], 'loraLinear: rows of B (rank of A)');
  expectSize(b.shape[1], outputs, 'loraLinear: columns of B (outputs of kernel)');
  if (bias) {
    expectRank(bias, 1, 'loraLinear: bias');
    expectSize(bias.shape[0], outputs, 'loraLinear: bias length (columns of kernel)');
  }
  return tf.tidy(() => {
    const rank3 = (t: tf.Tensor2D) => tf.reshape(t, [1, ...t.shape]); // the stock kernels take [1, M, K]
    const scaledB = scale === 1 ? b : (tf.mul(b, scale) as tf.Tensor2D);
    const named: Record<string, tf.Tensor> = { x: rank3(x), kernel: rank3(kernel), loraA: rank3(a), loraB: rank3(scaledB) };
    if (bias) named.bias = bias;
    return tf.reshape(mergedProduct(named, {}), [x.shape[0], outputs]);
  });
}

const PLAIN = { transposeA: false, transposeB: false };

const mergedProduct = compositeKernel(
  'LoraRecycleLoraLinear',
  ({ x, kernel, bias, loraA, loraB }, backend) => {
    const update = runStock('BatchMatMul', backend, { a: loraA, b: loraB }, PLAIN); // [1, in, out] A·B
    const merged = runStock('Add', backend, { a: kernel, b: update }); // W + A·B
    const product = fusedKernelsActive()
      ? wasmProduct(backend, x, merged, bias, false, false, [1, x.shape[1], merged.shape[2]])
      : runStock(
          '_FusedMatMul',
          backend,
          { a: x, b: merged, ...(bias ? { bias } : {}) },
          { ...PLAIN, activation: 'linear', leakyreluAlpha: 0 },
        );
    backend.disposeData(update.dataId);
    backend.disposeData(merged.dataId);
    return product;
  },
  ['x', 'kernel', 'loraA', 'loraB'],
  (dy, [x3, kernel3, a3, b3]) => {
    const [, m, k] = x3.shape as [number, number, number];
    const [, r, n] = b3.shape as [number, number, number];
    const dy2 = () => tf.reshape(dy, [m, n]) as tf.Tensor2D;
    const x2 = () => tf.reshape(x3, [m, k]) as tf.Tensor2D;
    const a2 = () => tf.reshape(a3, [k, r]) as tf.Tensor2D;
    const b2 = () => tf.reshape(b3, [r, n]) as tf.Tensor2D;
    return {
      x: () => {
        const merged = tf.add(tf.reshape(kernel3, [k, n]), matMul2d(a2(), b2())) as tf.Tensor2D;
        return tf.reshape(transposedProduct(dy2(), merged, false, true), [1, m, k]); // dy·(W + A·B)ᵀ
      },
      kernel: () => tf.reshape(transposedProduct(x2(), dy2(), true, false), [1, k, n]), // xᵀ·dy
      bias: () => tf.sum(dy2(), 0),
      loraA: () => tf.reshape(transposedProduct(x2(), transposedProduct(dy2(), b2(), false, true), true, false), [1, k, r]), // xᵀ·(dy·Bᵀ)
      loraB: () => tf.reshape(transposedProduct(matMul2d(x2(), a2()), dy2(), true, false), [1, r, n]), // (x·A)ᵀ·dy
    };
  },
);
