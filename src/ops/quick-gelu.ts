import * as tf from '@tensorflow/tfjs';
import { customGradient } from './custom-gradient';

/**
 * CLIP's QuickGELU, x·σ(1.702·x); any shape. Hand-written gradient
 * dy·σ(u)·(1 + u·(1 − σ(u))) with u = 1.702·x, from the saved u and σ(u).
 */
export function quickGelu<T extends tf.Tensor>(x: T): T {
  return gelu(x) as T;
}

const gelu = customGradient(([x], save) => {
  const u = tf.mul(x, 1.702);
  const s = tf.sigmoid(u);
  save([u, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy, [su, ss]) => tf.mul(dy, tf.mul(ss, tf.add(tf.mul(su, tf.sub(1, ss)), 1))),
  };
});
