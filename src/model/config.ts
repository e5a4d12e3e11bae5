import { ConfigError } from '../errors';

/** Architecture of a CLIP-style vision tower (HF `CLIPVisionConfig` names in comments). */
export interface ViTConfig {
  imageSize: number; // image_size: square input, H = W
  patchSize: number; // patch_size
  channels: number; // num_channels
  width: number; // hidden_size (D)
  depth: number; // num_hidden_layers (L)
  heads: number; // num_attention_heads
  mlpWidth: number; // intermediate_size
  projectionDim: number; // projection_dim: size of the feature f(x)
  layerNormEps: number; // layer_norm_eps
  /**
   * Early convolutions in place of the one linear map per patch (Xiao et al. 2021, "Early
   * convolutions help transformers see better"): the channels of each stage, one stage per halving
   * of patchSize; a stage is a 3×3 convolution with bias, QuickGELU and a 2×2 mean pool. The last
   * stage's map has one position per patch, embedded by patchEmbedding [last channels, D].
   * Absent: CLIP's patch embedding. Not part of CLIP's layout (no HF file holds one).
   */
  convStem?: number[];
}

/** The tiny model trained and shipped by this project: 32×32, patch 4 → 64 patches + [CLS]. */
export const TINY_VIT: ViTConfig = {
  imageSize: 32,
  patchSize: 4,
  channels: 3,
  width: 192,
  depth: 4,
  heads: 3,
  mlpWidth: 768,
  projectionDim: 192,
  layerNormEps: 1e-5,
};

/** CLIP ViT-B/16, the paper's backbone (weights must come from a local HF checkpoint). */
export const CLIP_VIT_B16: ViTConfig = {
  imageSize: 224,
  patchSize: 16,
  channels: 3,
  width: 768,
  depth: 12,
  heads: 12,
  mlpWidth: 3072,
  projectionDim: 512,
  layerNormEps: 1e-5,
};

/** Number of patch tokens (without [CLS]). */
export function patchCount(config: ViTConfig): number {
  const side = config.imageSize / config.patchSize;
  return side * side;
}

/** Inputs of the patch embedding's matrix: a patch's pixels (P·P·C), or the conv stem's last channels. */
export function patchEmbeddingInputs(config: ViTConfig): number {
  const stem = config.convStem;
  return stem ? stem[stem.length - 1] : config.patchSize * config.patchSize * config.channels;
}

/** Input channels of each conv stem stage: the image's, then each previous stage's output. */
export function convStemInputs(config: ViTConfig): number[] {
  return [config.channels, ...(config.convStem ?? [])].slice(0, config.convStem?.length ?? 0);
}

/** Throws a ConfigError naming the first inconsistent field. */
export function validateViTConfig(config: ViTConfig): void {
  const positive: Exclude<keyof ViTConfig, 'convStem' | 'layerNormEps'>[] = [
    'imageSize',
    'patchSize',
    'channels',
    'width',
    'depth',
    'heads',
    'mlpWidth',
    'projectionDim',
  ];
  for (const key of positive) {
    const value = config[key];
    if (!Number.isInteger(value) || value <= 0) {
      throw new ConfigError(`ViTConfig.${key} must be a positive integer, found ${value}`);
    }
  }
  if (config.imageSize % config.patchSize !== 0) {
    throw new ConfigError(`ViTConfig.imageSize (${config.imageSize}) must be a multiple of patchSize (${config.patchSize})`);
  }
  if (config.width % config.heads !== 0) {
    throw new ConfigError(`ViTConfig.width (${config.width}) must be divisible by heads (${config.heads})`);
  }
  if (config.convStem !== undefined) validateConvStem(config.convStem, config.patchSize);
  if (!(config.layerNormEps > 0)) {
    throw new ConfigError(`ViTConfig.layerNormEps must be > 0, found ${config.layerNormEps}`);
  }
}

function validateConvStem(stem: number[], patchSize: number): void {
  const stages = Math.log2(patchSize);
  if (!Array.isArray(stem) || !Number.isInteger(stages) || stem.length !== stages) {
    throw new ConfigError(
      `ViTConfig.convStem must list one stage per halving of patchSize (${patchSize}${Number.isInteger(stages) ? `: ${stages} stages` : ', not a power of 2'}), found ${JSON.stringify(stem)}`,
    );
  }
  const bad = stem.find((channels) => !Number.isInteger(channels) || channels <= 0);
  if (bad !== undefined) throw new ConfigError(`ViTConfig.convStem channels must be positive integers, found ${bad}`);
}
