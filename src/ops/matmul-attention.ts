import * as tf from '@tensorflow/tfjs';

/** Backends whose stock matMul (with transpose flags, batched) is their fastest product: TensorFlow's MatMul / BatchMatMulV2. */
export function batchedMatMulIsFast(): boolean {
  return tf.getBackend() === 'tensorflow';
}

/**
 * softmax(q·kᵀ/√e)·v per image and head as two batched matMuls over [B, H] (e = D/H), with
 * tfjs' own gradients. The formulation TensorFlow's kernels run fastest: on the native backend
 * the depthwise-convolution layout that wins on wasm costs ~8× more (bench/results/engine.md).
 * q [B·T_q, D], k, v [B·T, D] → output [B·T_q, D] and weights [B, H, T_q, T].
 */
export function matMulAttention(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  d: { b: number; t: number; s: number; h: number },
): { output: tf.Tensor2D; weights: tf.Tensor4D } {
  return tf.tidy(() => {
    const e = q.shape[1] / d.h;
    const heads = (x: tf.Tensor2D, n: number) => tf.transpose(tf.reshape(x, [d.b, n, d.h, e]), [0, 2, 1, 3]); // [B, H, n, e]
    const scores = tf.mul(tf.matMul(heads(q, d.t), heads(k, d.s), false, true), 1 / Math.sqrt(e)); // [B, H, T_q, T]
    const weights = tf.softmax(scores) as tf.Tensor4D;
    const out = tf.matMul(weights, heads(v, d.s)); // [B, H, T_q, e]
    const output = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [d.b * d.t, d.h * e]) as tf.Tensor2D;
    return { output, weights };
  });
}
