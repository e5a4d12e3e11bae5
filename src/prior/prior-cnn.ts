import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../errors';
import { conv3x3, linear } from '../ops';
import { batchStatistics, type BatchNormStatistics, type ImagePrior } from './image-prior';

/** Architecture of the image-prior CNN: blocks of conv3×3 → BatchNorm → ReLU → 2×2 average pool. */
export interface PriorCnnConfig {
  imageSize: number; // H = W of the (normalised) input
  channels: number; // input channels
  widths: number[]; // output channels of each block
  classes: number; // classifier head used only to train the prior
  batchNormEps: number;
}

/** The prior shipped with the project: 32×32 RGB, 4 blocks (32→16→8→4→global mean). */
export const PRIOR_CNN: PriorCnnConfig = { imageSize: 32, channels: 3, widths: [32, 64, 128, 128], classes: 0, batchNormEps: 1e-5 };

export interface BatchNormWeights {
  gamma: tf.Tensor1D; // [C]
  beta: tf.Tensor1D; // [C]
  runningMean: tf.Tensor1D; // [C] μ^BN
  runningVariance: tf.Tensor1D; // [C] σ²^BN
}

export interface PriorBlockWeights {
  kernel: tf.Tensor4D; // [3, 3, Cin, Cout], no bias (BatchNorm follows)
  batchNorm: BatchNormWeights;
}

export interface PriorCnnWeights {
  blocks: PriorBlockWeights[];
  head: { kernel: tf.Tensor2D; bias: tf.Tensor1D }; // [C_last, classes], [classes]
}

export interface PriorForward {
  features: tf.Tensor2D; // [B, C_last], the globally pooled last block (the head's input)
  logits: tf.Tensor2D; // [B, classes]
  statistics: BatchNormStatistics[]; // one per block
}

/**
 * A small BatchNorm CNN whose running statistics serve as the image prior of inversion
 * (method.md §1.3, R_BN). In 'eval' mode BatchNorm normalises with the running statistics
 * (as PyTorch's model.eval() in DeepInversion); in 'train' mode with the batch statistics.
 */
export class PriorCnn implements ImagePrior {
  constructor(
    readonly config: PriorCnnConfig,
    readonly weights: PriorCnnWeights,
  ) {
    validatePriorWeights(config, weights);
  }

  /** He-normal kernels, unit γ, zero β, running statistics (0, 1); seeded. */
  static random(config: PriorCnnConfig, seed = 0): PriorCnn {
    validatePriorConfig(config);
    const blocks = config.widths.map((cout, i) => {
      const cin = i === 0 ? config.channels : config.widths[i - 1];
      return {
        kernel: tf.randomNormal([3, 3, cin, cout], 0, Math.sqrt(2 / (9 * cin)), 'float32', seed + i) as tf.Tensor4D,
        batchNorm: {
          gamma: tf.ones([cout]) as tf.Tensor1D,
          beta: tf.zeros([cout]) as tf.Tensor1D,
          runningMean: tf.zeros([cout]) as tf.Tensor1D,
          runningVariance: tf.ones([cout]) as tf.Tensor1D,
        },
      };
    });
    const last = config.widths[config.widths.length - 1];
    const head = {
      kernel: tf.randomNormal([last, config.classes], 0, Math.sqrt(1 / last), 'float32', seed + 100) as tf.Tensor2D,
      bias: tf.zeros([config.classes]) as tf.Tensor1D,
    };
    return new PriorCnn(config, { blocks, head });
  }

  /** x [B, H, W, C] normalised → pooled features, logits and per-layer batch statistics. */
  forward(x: tf.Tensor4D, mode: 'eval' | 'train' = 'eval'): PriorForward {
    const { imageSize, channels } = this.config;
    if (x.rank !== 4 || x.shape[1] !== imageSize || x.shape[2] !== imageSize || x.shape[3] !== channels) {
      throw new ShapeError(`PriorCnn: expected images [B, ${imageSize}, ${imageSize}, ${channels}], found [${x.shape}]`);
    }
    const statistics: BatchNormStatistics[] = [];
    let h: tf.Tensor4D = x;
    this.weights.blocks.forEach((block, i) => {
      const z = conv3x3(h, block.kernel); // [B, H_l, W_l, C_l]
      const bn = block.batchNorm;
      const batch = batchStatistics(z, bn.runningMean, bn.runningVariance);
      statistics.push(batch);
      const [mu, sigma2] = mode === 'train' ? [batch.mean, batch.variance] : [bn.runningMean, bn.runningVariance];
      const normalised = tf.batchNorm(z, mu as tf.Tensor1D, sigma2 as tf.Tensor1D, bn.beta, bn.gamma, this.config.batchNormEps);
      const activated = tf.relu(normalised) as tf.Tensor4D;
      h = i < this.weights.blocks.length - 1 ? tf.avgPool(activated, 2, 2, 'valid') : activated;
    });
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D; // [B, C_last]
    return { features: pooled, logits: linear(pooled, this.weights.head.kernel, this.weights.head.bias), statistics };
  }

  /** Per BatchNorm layer: batch mean/variance of its input and the running statistics (eval mode). */
  batchNormStatistics(x: tf.Tensor4D): BatchNormStatistics[] {
    return this.forward(x, 'eval').statistics;
  }

  /** Every tensor of the prior, for an optimiser (only meaningful when built from Variables). */
  trainableTensors(): tf.Tensor[] {
    return [
      ...this.weights.blocks.flatMap((b) => [b.kernel, b.batchNorm.gamma, b.batchNorm.beta]),
      this.weights.head.kernel,
      this.weights.head.bias,
    ];
  }

  dispose(): void {
    for (const b of this.weights.blocks)
      tf.dispose([b.kernel, b.batchNorm.gamma, b.batchNorm.beta, b.batchNorm.runningMean, b.batchNorm.runningVariance]);
    tf.dispose([this.weights.head.kernel, this.weights.head.bias]);
  }
}

/** μ_l(x), σ²_l(x) against μ_l^BN, σ²_l^BN for every BatchNorm layer of `prior`. */
export function batchNormStatistics(x: tf.Tensor4D, prior: PriorCnn): BatchNormStatistics[] {
  return prior.batchNormStatistics(x);
}

export function validatePriorConfig(config: PriorCnnConfig): void {
  for (const key of ['imageSize', 'channels', 'classes'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 0)
      throw new ConfigError(`PriorCnnConfig.${key} must be a non-negative integer, found ${config[key]}`);
  }
  if (config.widths.length === 0 || config.widths.some((w) => !Number.isInteger(w) || w <= 0)) {
    throw new ConfigError(`PriorCnnConfig.widths must be positive integers, found [${config.widths}]`);
  }
  if (config.imageSize % 2 ** (config.widths.length - 1) !== 0) {
    throw new ConfigError(
      `PriorCnnConfig.imageSize ${config.imageSize} must be divisible by 2^${config.widths.length - 1} (one 2×2 pool per block but the last)`,
    );
  }
  if (!(config.batchNormEps > 0)) throw new ConfigError(`PriorCnnConfig.batchNormEps must be > 0, found ${config.batchNormEps}`);
}

/** Throws a ShapeError naming the first tensor whose shape does not fit `config`. */
export function validatePriorWeights(config: PriorCnnConfig, weights: PriorCnnWeights): void {
  validatePriorConfig(config);
  const expect = (t: tf.Tensor, shape: number[], what: string) => {
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new ShapeError(`PriorCnn ${what}: expected shape [${shape}], found [${t.shape}]`);
    }
  };
  if (weights.blocks.length !== config.widths.length) {
    throw new ShapeError(`PriorCnn: expected ${config.widths.length} blocks, found ${weights.blocks.length}`);
  }
  weights.blocks.forEach((b, i) => {
    const cin = i === 0 ? config.channels : config.widths[i - 1];
    const c = config.widths[i];
    expect(b.kernel, [3, 3, cin, c], `blocks.${i}.kernel`);
    for (const k of ['gamma', 'beta', 'runningMean', 'runningVariance'] as const) expect(b.batchNorm[k], [c], `blocks.${i}.batchNorm.${k}`);
  });
  const last = config.widths[config.widths.length - 1];
  expect(weights.head.kernel, [last, config.classes], 'head.kernel');
  expect(weights.head.bias, [config.classes], 'head.bias');
}
