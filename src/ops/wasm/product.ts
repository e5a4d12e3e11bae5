import type * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '../composite-kernel';
import { beginCall } from './runtime';

/**
 * op(a)·op(b) (+ bias on every row) with kernels.c `matmul`, op(x) = xᵀ when its flag is set.
 * a, b are 2-D, or rank 3 with a leading 1 (the stock kernels' layout); the result has `shape`
 * (M·N elements).
 */
export function wasmProduct(
  backend: tf.KernelBackend,
  a: TensorInfo,
  b: TensorInfo,
  bias: TensorInfo | undefined,
  transposeA: boolean,
  transposeB: boolean,
  shape: number[],
): TensorInfo {
  const [a0, a1] = a.shape.slice(-2);
  const [b0, b1] = b.shape.slice(-2);
  const [m, k] = transposeA ? [a1, a0] : [a0, a1];
  const n = transposeB ? b0 : b1;
  const call = beginCall(backend);
  const [pa, pb] = [call.input(a), call.input(b)];
  const pBias = bias ? call.input(bias) : 0;
  const out = call.output(shape);
  const scratch = call.scratch(call.parts * ((transposeB ? k * n : 0) + (transposeA ? chunkRows(m) * k : 0)));
  call.run('matmul', [m, n, k, pa, transposeA ? 1 : 0, pb, transposeB ? 1 : 0, pBias, out, scratch, call.counter()], 2 * m * n * k);
  return call.finish()[0];
}

/** Rows per chunk of a product, as kernels.c chunk_rows computes them (for the scratch size). */
function chunkRows(m: number): number {
  return Math.max(4, (Math.floor(m / 16) + 3) & ~3);
}
