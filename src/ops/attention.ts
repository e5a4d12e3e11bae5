import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';
import { customGradient } from './custom-gradient';
import { fusedAttention } from './fused-attention';
import { batchedMatMulIsFast, matMulAttention } from './matmul-attention';
import { expectRank } from './shapes';
import { fusedKernelsActive } from './wasm/runtime';

export interface AttentionOptions {
  batch: number; // B
  tokens: number; // T: keys and values per image
  heads: number; // H
  /** T_q: queries per image (default T), e.g. 1 when only [CLS] attends. */
  queryTokens?: number;
  returnWeights?: boolean;
}

export interface AttentionResult {
  output: tf.Tensor2D; // [B·T_q, D]
  weights?: tf.Tensor4D; // [B, H, T_q, T]
}

/**
 * Multi-head scaled dot-product attention: softmax(q·kᵀ/√d_h)·v per head; q [B·T_q, D], k, v [B·T, D].
 *
 * On wasm and cpu it is one compiled kernel each way (fused-attention.ts); on the native
 * TensorFlow backend two batched matMuls (matmul-attention.ts). The stock path: on wasm, tfjs' batched matMul takes a slow path, so each of the B·H small products is run
 * at once as one depthwise convolution (channels n = (b, h), a 1×K filter with multiplier P):
 * input [1, M, K, N] ⊛ filter [1, K, N, P] → [1, M, 1, N·P]. Tensors are laid out directly in
 * the orders those convolutions need (subscripts below: t query, s key, e head dim), and both
 * halves carry hand-written gradients made of the same convolutions.
 */
export function attention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, options: AttentionOptions): AttentionResult {
  const { batch: b, tokens: s, heads: h } = options;
  const t = options.queryTokens ?? s;
  const rows = { q: b * t, k: b * s, v: b * s };
  for (const [name, x] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    expectRank(x, 2, `attention: ${name}`);
    if (x.shape[0] !== rows[name] || x.shape[1] !== q.shape[1]) {
      throw new ShapeError(
        `attention: ${name} must be [${rows[name]}, ${q.shape[1]}] (B·${name === 'q' ? 'T_q' : 'T'}, D), found [${x.shape}]`,
      );
    }
  }
  if (q.shape[1] % h !== 0) throw new ShapeError(`attention: width ${q.shape[1]} must be divisible by heads ${h}`);
  if (fusedKernelsActive()) {
    const [output, weights] = fusedAttention(q, k, v, { batch: b, queryTokens: t, tokens: s, heads: h });
    if (options.returnWeights) return { output, weights };
    weights.dispose();
    return { output };
  }
  if (batchedMatMulIsFast()) {
    const { output, weights } = matMulAttention(q, k, v, { b, t, s, h });
    if (options.returnWeights) return { output, weights };
    weights.dispose();
    return { output };
  }
  const dims: Dims = { b, t, s, h, e: q.shape[1] / h };
  return tf.tidy(() => {
    const probabilities = attentionWeights(dims)(q, k); // [T_q, B·H, T] (t, n, s)
    const output = attend(dims)(probabilities, v) as tf.Tensor2D; // [B·T_q, D]
    if (!options.returnWeights) return { output };
    const weights = tf.transpose(tf.reshape(probabilities, [t, b, h, s]), [1, 2, 0, 3]) as tf.Tensor4D;
    return { output, weights };
  });
}

interface Dims {
  b: number;
  t: number; // queries per image
  s: number; // keys per image
  h: number;
  e: number;
}

/** Σ over the filter's width: input [1, M, K, N] ⊛ filter [1, K, N, P] → [1, M, 1, N·P]. */
function products(input: tf.Tensor, filter: tf.Tensor): tf.Tensor {
  return tf.depthwiseConv2d(input as tf.Tensor4D, filter as tf.Tensor4D, 1, 'valid');
}

/** x [B·n, D] (n tokens per image) viewed as [B, n, H, e], permuted, as a 4-D depthwise operand of shape `shape`. */
function layout(x: tf.Tensor, d: Dims, n: number, perm: number[], shape: number[]): tf.Tensor {
  return tf.reshape(tf.transpose(tf.reshape(x, [d.b, n, d.h, d.e]), perm), shape);
}

/** A product laid out [1, n, 1, (b, h, e)] back to rows [B·n, D]. */
function rows(x: tf.Tensor, d: Dims, n: number): tf.Tensor {
  return tf.reshape(tf.transpose(tf.reshape(x, [n, d.b, d.h * d.e]), [1, 0, 2]), [d.b * n, d.h * d.e]);
}

/** P = softmax(q·kᵀ/√e) per (b, h), laid out [T_q(t), B·H, T(s)]. */
function attentionWeights(d: Dims): (q: tf.Tensor, k: tf.Tensor) => tf.Tensor {
  const n = d.b * d.h;
  const scale = 1 / Math.sqrt(d.e);
  return customGradient(([q, k], save) => {
    const qTen = layout(q, d, d.t, [1, 3, 0, 2], [1, d.t, d.e, n]); // [1, t, e, n]
    const kEns = layout(k, d, d.s, [3, 0, 2, 1], [1, d.e, n, d.s]); // [1, e, n, s]
    const p = tf.softmax(tf.mul(tf.reshape(products(qTen, kEns), [d.t, n, d.s]), scale)); // [t, n, s]
    save([q, k, p]);
    return {
      value: p,
      gradFunc: (dp, [sq, sk, sp]) => {
        const ds = tf.mul(tf.mul(sp, tf.sub(dp, tf.sum(tf.mul(dp, sp), -1, true))), scale); // [t, n, s]
        const dsTsn = tf.reshape(tf.transpose(ds, [0, 2, 1]), [1, d.t, d.s, n]); // [1, t, s, n]
        const dsStn = tf.reshape(tf.transpose(ds, [2, 0, 1]), [1, d.s, d.t, n]); // [1, s, t, n]
        const kSne = layout(sk, d, d.s, [1, 0, 2, 3], [1, d.s, n, d.e]); // [1, s, n, e]
        const qTne = layout(sq, d, d.t, [1, 0, 2, 3], [1, d.t, n, d.e]); // [1, t, n, e]
        return [rows(products(dsTsn, kSne), d, d.t), rows(products(dsStn, qTne), d, d.s)]; // dq [B·T_q, D], dk [B·T, D]
      },
    };
  });
}

/** P·v per (b, h): P [T_q(t), B·H, T(s)], v [B·T, D] → [B·T_q, D]. */
function attend(d: Dims): (p: tf.Tensor, v: tf.Tensor) => tf.Tensor {
  const n = d.b * d.h;
  return customGradient(([p, v], save) => {
    save([p, v]);
    const pTsn = tf.reshape(tf.transpose(p, [0, 2, 1]), [1, d.t, d.s, n]); // [1, t, s, n]
    const vSne = layout(v, d, d.s, [1, 0, 2, 3], [1, d.s, n, d.e]); // [1, s, n, e]
    return {
      value: rows(products(pTsn, vSne), d, d.t),
      gradFunc: (dout, [sp, sv]) => {
        const dTne = layout(dout, d, d.t, [1, 0, 2, 3], [1, d.t, n, d.e]); // [1, t, n, e]
        const dTen = layout(dout, d, d.t, [1, 3, 0, 2], [1, d.t, d.e, n]); // [1, t, e, n]
        const pStn = tf.reshape(tf.transpose(sp, [2, 0, 1]), [1, d.s, d.t, n]); // [1, s, t, n]
        const vEns = layout(sv, d, d.s, [3, 0, 2, 1], [1, d.e, n, d.s]); // [1, e, n, s]
        const dp = tf.reshape(products(dTen, vEns), [d.t, n, d.s]); // [t, n, s]
        return [dp, rows(products(pStn, dTne), d, d.s)]; // dP, dv
      },
    };
  });
}
