import * as tf from '@tensorflow/tfjs';
import type { ImagePrior } from './image-prior';

/**
 * R_BN(x) = Σ_l ‖μ_l(x) − μ_l^BN‖₂ + ‖σ²_l(x) − σ²_l^BN‖₂ (method.md §1.3): batch statistics
 * over N, H, W with biased variance, running statistics of the frozen prior, norms NOT squared.
 * x [B, H, W, C] normalised; differentiable w.r.t. x. The √ gets a 1e-12 floor so its
 * gradient stays finite when a term is exactly zero.
 */
export function bnPriorLoss(x: tf.Tensor4D, prior: ImagePrior): tf.Scalar {
  return tf.tidy(() => {
    const terms = prior
      .batchNormStatistics(x)
      .map((s) => tf.add(l2Norm(tf.sub(s.mean, s.runningMean)), l2Norm(tf.sub(s.variance, s.runningVariance))));
    return tf.addN(terms) as tf.Scalar;
  });
}

function l2Norm(v: tf.Tensor): tf.Scalar {
  return tf.sqrt(tf.add(tf.sum(tf.square(v)), 1e-12)) as tf.Scalar;
}
