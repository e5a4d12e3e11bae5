import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';
import { customGradient } from './custom-gradient';
import { expectRank } from './shapes';

export interface AttentionOptions {
  batch: number; // B
  tokens: number; // T
  heads: number; // H
  returnWeights?: boolean;
}

export interface AttentionResult {
  output: tf.Tensor2D; // [B·T, D]
  weights?: tf.Tensor4D; // [B, H, T, T]
}

/**
 * Multi-head scaled dot-product attention: softmax(q·kᵀ/√d_h)·v per head; q, k, v [B·T, D].
 *
 * On wasm, tfjs' batched matMul takes a slow path, so each of the B·H small products is run
 * at once as one depthwise convolution (channels n = (b, h), a 1×K filter with multiplier P):
 * input [1, M, K, N] ⊛ filter [1, K, N, P] → [1, M, 1, N·P]. Tensors are laid out directly in
 * the orders those convolutions need (subscripts below: t query, s key, e head dim), and both
 * halves carry hand-written gradients made of the same convolutions.
 */
export function attention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, options: AttentionOptions): AttentionResult {
  const { batch: b, tokens: t, heads: h } = options;
  for (const [name, x] of [['q', q], ['k', k], ['v', v]] as const) {
    expectRank(x, 2, `attention: ${name}`);
    if (x.shape[0] !== b * t || x.shape[1] !== q.shape[1]) {
      throw new ShapeError(`attention: ${name} must be [${b * t}, ${q.shape[1]}] (B·T, D), found [${x.shape}]`);
    }
  }
  if (q.shape[1] % h !== 0) throw new ShapeError(`attention: width ${q.shape[1]} must be divisible by heads ${h}`);
  const dims: Dims = { b, t, h, e: q.shape[1] / h };
  return tf.tidy(() => {
    const probabilities = attentionWeights(dims)(q, k); // [T, B·H, T] (t, n, s)
    const output = attend(dims)(probabilities, v) as tf.Tensor2D; // [B·T, D]
    if (!options.returnWeights) return { output };
    const weights = tf.transpose(tf.reshape(probabilities, [t, b, h, t]), [1, 2, 0, 3]) as tf.Tensor4D;
    return { output, weights };
  });
}

interface Dims {
  b: number;
  t: number;
  h: number;
  e: number;
}

/** Σ over the filter's width: input [1, M, K, N] ⊛ filter [1, K, N, P] → [1, M, 1, N·P]. */
function products(input: tf.Tensor, filter: tf.Tensor): tf.Tensor {
  return tf.depthwiseConv2d(input as tf.Tensor4D, filter as tf.Tensor4D, 1, 'valid');
}

/** x [B·T, D] viewed as [B, T, H, e], permuted, as a 4-D depthwise operand of shape `shape`. */
function layout(x: tf.Tensor, d: Dims, perm: number[], shape: number[]): tf.Tensor {
  return tf.reshape(tf.transpose(tf.reshape(x, [d.b, d.t, d.h, d.e]), perm), shape);
}

/** A product laid out [1, T, 1, (b, h, e)] back to rows [B·T, D]. */
function rows(x: tf.Tensor, d: Dims): tf.Tensor {
  return tf.reshape(tf.transpose(tf.reshape(x, [d.t, d.b, d.h * d.e]), [1, 0, 2]), [d.b * d.t, d.h * d.e]);
}

/** P = softmax(q·kᵀ/√e) per (b, h), laid out [T(t), B·H, T(s)]. */
function attentionWeights(d: Dims): (q: tf.Tensor, k: tf.Tensor) => tf.Tensor {
  const n = d.b * d.h;
  const scale = 1 / Math.sqrt(d.e);
  return customGradient(([q, k], save) => {
    const qTen = layout(q, d, [1, 3, 0, 2], [1, d.t, d.e, n]); // [1, t, e, n]
    const kEns = layout(k, d, [3, 0, 2, 1], [1, d.e, n, d.t]); // [1, e, n, s]
    const p = tf.softmax(tf.mul(tf.reshape(products(qTen, kEns), [d.t, n, d.t]), scale)); // [t, n, s]
    save([q, k, p]);
    return {
      value: p,
      gradFunc: (dp, [sq, sk, sp]) => {
        const ds = tf.mul(tf.mul(sp, tf.sub(dp, tf.sum(tf.mul(dp, sp), -1, true))), scale); // [t, n, s]
        const dsTsn = tf.reshape(tf.transpose(ds, [0, 2, 1]), [1, d.t, d.t, n]); // [1, t, s, n]
        const dsStn = tf.reshape(tf.transpose(ds, [2, 0, 1]), [1, d.t, d.t, n]); // [1, s, t, n]
        const kSne = layout(sk, d, [1, 0, 2, 3], [1, d.t, n, d.e]); // [1, s, n, e]
        const qTne = layout(sq, d, [1, 0, 2, 3], [1, d.t, n, d.e]); // [1, t, n, e]
        return [rows(products(dsTsn, kSne), d), rows(products(dsStn, qTne), d)]; // dq, dk [B·T, D]
      },
    };
  });
}

/** P·v per (b, h): P [T(t), B·H, T(s)], v [B·T, D] → [B·T, D]. */
function attend(d: Dims): (p: tf.Tensor, v: tf.Tensor) => tf.Tensor {
  const n = d.b * d.h;
  return customGradient(([p, v], save) => {
    save([p, v]);
    const pTsn = tf.reshape(tf.transpose(p, [0, 2, 1]), [1, d.t, d.t, n]); // [1, t, s, n]
    const vSne = layout(v, d, [1, 0, 2, 3], [1, d.t, n, d.e]); // [1, s, n, e]
    return {
      value: rows(products(pTsn, vSne), d),
      gradFunc: (dout, [sp, sv]) => {
        const dTne = layout(dout, d, [1, 0, 2, 3], [1, d.t, n, d.e]); // [1, t, n, e]
        const dTen = layout(dout, d, [1, 3, 0, 2], [1, d.t, d.e, n]); // [1, t, e, n]
        const pStn = tf.reshape(tf.transpose(sp, [2, 0, 1]), [1, d.t, d.t, n]); // [1, s, t, n]
        const vEns = layout(sv, d, [3, 0, 2, 1], [1, d.e, n, d.t]); // [1, e, n, s]
        const dp = tf.reshape(products(dTen, vEns), [d.t, n, d.t]); // [t, n, s]
        return [dp, rows(products(pStn, dTne), d)]; // dP, dv
      },
    };
  });
}
