import * as tf from '@tensorflow/tfjs';

/** Statistics of one BatchNorm layer's input on a batch (over N, H, W; biased variance). */
export interface BatchNormStatistics {
  mean: tf.Tensor1D; // μ_l(x)
  variance: tf.Tensor1D; // σ²_l(x)
  runningMean: tf.Tensor1D; // μ_l^BN (the prior's own tensor, not a copy: do not dispose)
  runningVariance: tf.Tensor1D; // σ²_l^BN (idem)
}

/**
 * A frozen BatchNorm network whose running statistics regularise inversion (method.md §1.3,
 * R_BN): the small PriorCnn trained by the project, or the ImageNet EfficientNet-Lite0.
 */
export interface ImagePrior {
  /** The images it takes: [B, imageSize, imageSize, channels], CLIP-normalised. */
  readonly config: { readonly imageSize: number; readonly channels: number };
  /** Per BatchNorm layer l: μ_l(x), σ²_l(x) of its input on the batch x, and μ_l^BN, σ²_l^BN (eval mode). */
  batchNormStatistics(x: tf.Tensor4D): BatchNormStatistics[];
  dispose(): void;
}

/** The statistics of one BatchNorm layer's input z [B, H, W, C] (μ_l, biased σ²_l over N, H, W) beside its running ones. */
export function batchStatistics(z: tf.Tensor4D, runningMean: tf.Tensor1D, runningVariance: tf.Tensor1D): BatchNormStatistics {
  const { mean, variance } = tf.moments(z, [0, 1, 2]);
  return { mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D, runningMean, runningVariance };
}
