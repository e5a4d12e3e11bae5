import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../errors';
import { CLIP_MEAN, CLIP_STD } from '../model/preprocess';
import { linear, matMul2d } from '../ops';
import { resizeBilinear } from './bilinear-resize';
import { depthwiseConvSame, padSame } from './depthwise-conv';
import type { ImagePrior } from './image-prior';
import { batchStatistics, type BatchNormStatistics } from './image-prior';
import type { BatchNormWeights } from './prior-cnn';

/** One stage of MBConv blocks: the first block has `stride`, the others stride 1. */
export interface MbConvStage {
  repeats: number;
  kernel: number; // k of the depthwise k×k convolution
  stride: number;
  expansion: number; // Cmid = expansion · Cin (1: no expansion conv)
  channels: number; // Cout
}

/**
 * EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant: ReLU6, no squeeze-excitation, stem and
 * head not scaled): stem conv3×3/2 (32) → 16 MBConv blocks in 7 stages → conv1×1 (1280) → mean
 * pool → classifier (1000 ImageNet classes). BatchNorm ε = 1e-3, as in TensorFlow.
 */
export const EFFICIENTNET_LITE0 = {
  stemChannels: 32,
  stages: [
    { repeats: 1, kernel: 3, stride: 1, expansion: 1, channels: 16 },
    { repeats: 2, kernel: 3, stride: 2, expansion: 6, channels: 24 },
    { repeats: 2, kernel: 5, stride: 2, expansion: 6, channels: 40 },
    { repeats: 3, kernel: 3, stride: 2, expansion: 6, channels: 80 },
    { repeats: 3, kernel: 5, stride: 1, expansion: 6, channels: 112 },
    { repeats: 4, kernel: 5, stride: 2, expansion: 6, channels: 192 },
    { repeats: 1, kernel: 3, stride: 1, expansion: 6, channels: 320 },
  ] as readonly MbConvStage[],
  headChannels: 1280,
  classes: 1000,
  batchNormEps: 1e-3,
  /** The network's own input normalisation (TensorFlow's EfficientNet-Lite: (255·p − 127) / 128). */
  pixelMean: 127 / 255,
  pixelStd: 128 / 255,
} as const;

/** One MBConv block as built: input/output channels and its depthwise kernel and stride. */
export interface MbConvBlock {
  expansion: number; // 1: no expansion conv
  inChannels: number;
  midChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
}

/** The 16 blocks of EFFICIENTNET_LITE0, in order. */
export function mbConvBlocks(): MbConvBlock[] {
  const blocks: MbConvBlock[] = [];
  let inChannels: number = EFFICIENTNET_LITE0.stemChannels;
  for (const stage of EFFICIENTNET_LITE0.stages) {
    for (let r = 0; r < stage.repeats; r++) {
      const stride = r === 0 ? stage.stride : 1;
      blocks.push({
        expansion: stage.expansion,
        inChannels,
        midChannels: inChannels * stage.expansion,
        outChannels: stage.channels,
        kernel: stage.kernel,
        stride,
      });
      inChannels = stage.channels;
    }
  }
  return blocks;
}

/** A convolution without bias followed by BatchNorm. */
export interface ConvBatchNorm {
  kernel: tf.Tensor; // stem [3, 3, 3, 32] HWIO; depthwise [k, k, C, 1]; 1×1 convs [Cin, Cout]
  batchNorm: BatchNormWeights;
}

export interface MbConvWeights {
  expand?: ConvBatchNorm; // absent when the expansion ratio is 1
  depthwise: ConvBatchNorm;
  project: ConvBatchNorm;
}

export interface EfficientNetWeights {
  stem: ConvBatchNorm;
  blocks: MbConvWeights[];
  head: ConvBatchNorm;
  classifier: { kernel: tf.Tensor2D; bias: tf.Tensor1D }; // [1280, 1000], [1000]
}

export interface EfficientNetPriorOptions {
  /** Side of the (CLIP-normalised) images the prior takes, the inversion's image size. Default 32. */
  imageSize?: number;
  /** Side the images are resized to before the stem (ImageNet training used 224). Default DEFAULT_PRIOR_RESOLUTION. */
  resolution?: number;
}

/** Default resolution: see docs/method.md §1.3 for the time per forward + backward at 64, 112, 224. */
export const DEFAULT_PRIOR_RESOLUTION = 112;

/** Every weight's name and shape, as EfficientNetWeights flattens ("blocks.3.expand.batchNorm.gamma"). */
export function efficientNetShapes(): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  const convBatchNorm = (name: string, kernel: number[]) => {
    shapes[`${name}.kernel`] = kernel;
    const c = kernel[kernel.length - 1 - (name.endsWith('depthwise') ? 1 : 0)];
    for (const k of ['gamma', 'beta', 'runningMean', 'runningVariance']) shapes[`${name}.batchNorm.${k}`] = [c];
  };
  const { stemChannels, headChannels, classes } = EFFICIENTNET_LITE0;
  convBatchNorm('stem', [3, 3, 3, stemChannels]);
  mbConvBlocks().forEach((b, i) => {
    if (b.expansion !== 1) convBatchNorm(`blocks.${i}.expand`, [b.inChannels, b.midChannels]);
    convBatchNorm(`blocks.${i}.depthwise`, [b.kernel, b.kernel, b.midChannels, 1]);
    convBatchNorm(`blocks.${i}.project`, [b.midChannels, b.outChannels]);
  });
  const last = mbConvBlocks().at(-1)?.outChannels ?? 0;
  convBatchNorm('head', [last, headChannels]);
  shapes['classifier.kernel'] = [headChannels, classes];
  shapes['classifier.bias'] = [classes];
  return shapes;
}

export interface EfficientNetForward {
  logits: tf.Tensor2D; // [B, 1000] ImageNet logits
  statistics: BatchNormStatistics[]; // one per BatchNorm layer, in forward order (49)
}

/**
 * The ImageNet EfficientNet-Lite0 as a frozen image prior (method.md §1.3): CLIP-normalised
 * images → pixels → the network's normalisation → bilinear resize to `resolution` → stem →
 * MBConv blocks → head, BatchNorm always with the running statistics (eval mode). R_BN reads
 * the batch statistics of every BatchNorm layer's input.
 */
export class EfficientNetLite0 implements ImagePrior {
  readonly config: { imageSize: number; channels: number; resolution: number };
  private readonly blocks = mbConvBlocks();

  constructor(
    readonly weights: EfficientNetWeights,
    options: EfficientNetPriorOptions = {},
  ) {
    const imageSize = options.imageSize ?? 32;
    const resolution = options.resolution ?? DEFAULT_PRIOR_RESOLUTION;
    for (const [key, value] of Object.entries({ imageSize, resolution })) {
      if (!Number.isInteger(value) || value < 1)
        throw new ConfigError(`EfficientNetLite0 ${key} must be a positive integer, found ${value}`);
    }
    this.config = { imageSize, channels: 3, resolution };
    if (weights.blocks.length !== this.blocks.length) {
      throw new ShapeError(`EfficientNetLite0: expected ${this.blocks.length} blocks, found ${weights.blocks.length}`);
    }
  }

  /** x [B, imageSize, imageSize, 3] CLIP-normalised → ImageNet logits and per-BatchNorm statistics. */
  forward(x: tf.Tensor4D): EfficientNetForward {
    const { imageSize, resolution } = this.config;
    if (x.rank !== 4 || x.shape[1] !== imageSize || x.shape[2] !== imageSize || x.shape[3] !== 3) {
      throw new ShapeError(`EfficientNetLite0: expected images [B, ${imageSize}, ${imageSize}, 3], found [${x.shape}]`);
    }
    return tf.tidy(() => {
      const statistics: BatchNormStatistics[] = [];
      const normalise = (z: tf.Tensor4D, layer: ConvBatchNorm): tf.Tensor4D => {
        const bn = layer.batchNorm;
        statistics.push(batchStatistics(z, bn.runningMean, bn.runningVariance));
        return tf.batchNorm(z, bn.runningMean, bn.runningVariance, bn.beta, bn.gamma, EFFICIENTNET_LITE0.batchNormEps);
      };
      const resized = resizeBilinear(networkInput(x), resolution, resolution); // [B, r, r, 3]
      const stemKernel = this.weights.stem.kernel as tf.Tensor4D;
      let h = tf.relu6(normalise(tf.conv2d(padSame(resized, 3, 2), stemKernel, 2, 'valid'), this.weights.stem)) as tf.Tensor4D;
      this.blocks.forEach((block, i) => {
        const w = this.weights.blocks[i];
        let z = w.expand ? (tf.relu6(normalise(pointwise(h, w.expand.kernel as tf.Tensor2D), w.expand)) as tf.Tensor4D) : h;
        z = tf.relu6(normalise(depthwiseConvSame(z, w.depthwise.kernel as tf.Tensor4D, block.stride), w.depthwise)) as tf.Tensor4D;
        z = normalise(pointwise(z, w.project.kernel as tf.Tensor2D), w.project); // linear bottleneck: no activation
        h = block.stride === 1 && block.inChannels === block.outChannels ? tf.add(z, h) : z;
      });
      const features = tf.relu6(normalise(pointwise(h, this.weights.head.kernel as tf.Tensor2D), this.weights.head));
      const pooled = tf.mean(features, [1, 2]) as tf.Tensor2D; // [B, 1280]
      const logits = linear(pooled, this.weights.classifier.kernel, this.weights.classifier.bias);
      return { logits, statistics } as unknown as tf.TensorContainer; // tidy keeps every tensor it returns
    }) as unknown as EfficientNetForward;
  }

  batchNormStatistics(x: tf.Tensor4D): BatchNormStatistics[] {
    const { logits, statistics } = this.forward(x);
    logits.dispose();
    return statistics;
  }

  dispose(): void {
    const convBatchNorms = [
      this.weights.stem,
      this.weights.head,
      ...this.weights.blocks.flatMap((b) => [b.expand, b.depthwise, b.project]),
    ];
    for (const layer of convBatchNorms) {
      if (layer) tf.dispose([layer.kernel, ...Object.values(layer.batchNorm)]);
    }
    tf.dispose([this.weights.classifier.kernel, this.weights.classifier.bias]);
  }
}

/**
 * CLIP-normalised x → the network's normalisation, one affine map per channel:
 * p = x·σ_CLIP + μ_CLIP (pixels in [0, 1]), then (p − μ) / σ.
 */
function networkInput(x: tf.Tensor4D): tf.Tensor4D {
  const { pixelMean, pixelStd } = EFFICIENTNET_LITE0;
  const scale = CLIP_STD.map((s) => s / pixelStd);
  const shift = CLIP_MEAN.map((m) => (m - pixelMean) / pixelStd);
  return tf.add(tf.mul(x, tf.tensor1d(scale)), tf.tensor1d(shift));
}

/** 1×1 convolution: x [B, H, W, Cin] · kernel [Cin, Cout] → [B, H, W, Cout]. */
function pointwise(x: tf.Tensor4D, kernel: tf.Tensor2D): tf.Tensor4D {
  const [b, h, w, cin] = x.shape;
  return tf.reshape(matMul2d(tf.reshape(x, [b * h * w, cin]) as tf.Tensor2D, kernel), [b, h, w, kernel.shape[1]]);
}
