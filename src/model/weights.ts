import type * as tf from '@tensorflow/tfjs';

/**
 * Weights of the vision tower, in the layout the fast kernels want (not PyTorch's):
 * every linear kernel is [in, out] so that y = x·W + b is one 2-D matMul.
 * Loaders (src/io) convert other layouts into this one; the model knows nothing about files.
 * Any tensor may be a tf.Variable when the backbone itself is trained.
 */
export interface LinearWeights {
  kernel: tf.Tensor2D; // [in, out]
  bias?: tf.Tensor1D; // [out]
}

export interface LayerNormWeights {
  gamma: tf.Tensor1D; // [D]
  beta: tf.Tensor1D; // [D]
}

/** One pre-LN transformer block: x + Attn(LN1(x)), then x + MLP(LN2(x)). */
export interface BlockWeights {
  ln1: LayerNormWeights;
  q: LinearWeights; // [D, D]
  k: LinearWeights; // [D, D]
  v: LinearWeights; // [D, D]
  o: LinearWeights; // out_proj [D, D]
  ln2: LayerNormWeights;
  fc1: LinearWeights; // [D, mlpWidth]
  fc2: LinearWeights; // [mlpWidth, D]
}

/** A 3×3 convolution with bias (HWIO kernel). */
export interface ConvWeights {
  kernel: tf.Tensor4D; // [3, 3, in, out]
  bias: tf.Tensor1D; // [out]
}

export interface ViTWeights {
  /** The conv stem's stages where ViTConfig.convStem asks for one (absent in CLIP). */
  stem?: ConvWeights[];
  /**
   * Patch embedding as a matrix: rows ordered (py, px, c) within a patch, CLIP has no bias; with a
   * conv stem, rows are the last stage's channels.
   */
  patchEmbedding: tf.Tensor2D; // [P·P·C or stem channels, D]
  classEmbedding: tf.Tensor1D; // [D]
  /** Row 0 is [CLS]; row 1 + i is patch i in row-major order over the patch grid. */
  positionEmbedding: tf.Tensor2D; // [1 + T, D]
  preLayerNorm: LayerNormWeights; // HF `pre_layrnorm`
  blocks: BlockWeights[];
  postLayerNorm: LayerNormWeights; // HF `post_layernorm`, on [CLS] only
  projection: tf.Tensor2D; // visual_projection, no bias [D, projectionDim]
}

/** Names of the projections inside a block that adapters may target. */
export type ProjectionName = 'q' | 'k' | 'v' | 'o' | 'fc1' | 'fc2';

export const PROJECTION_NAMES: readonly ProjectionName[] = ['q', 'k', 'v', 'o', 'fc1', 'fc2'];
