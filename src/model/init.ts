import * as tf from '@tensorflow/tfjs';
import { convStemInputs, patchEmbeddingInputs, type ViTConfig } from './config';
import type { BlockWeights, ConvWeights, LayerNormWeights, LinearWeights, ViTWeights } from './weights';

/**
 * Seeded random weights for a ViTConfig, following CLIP's initialisation in spirit:
 * N(0, 0.02) for embeddings and linear kernels, zero biases, LayerNorm γ = 1, β = 0; a conv stem's
 * kernels He-normal (std √(2 / (9·C_in))).
 */
export function randomViTWeights(config: ViTConfig, seed = 0): ViTWeights {
  let nextSeed = seed * 1000 + 1;
  const normal = (shape: number[], std = 0.02) => tf.randomNormal(shape, 0, std, 'float32', nextSeed++);
  const d = config.width;
  const layerNorm = (): LayerNormWeights => ({ gamma: tf.ones([d]), beta: tf.zeros([d]) });
  const dense = (inputs: number, outputs: number): LinearWeights => ({
    kernel: normal([inputs, outputs]) as tf.Tensor2D,
    bias: tf.zeros([outputs]),
  });
  const block = (): BlockWeights => ({
    ln1: layerNorm(),
    q: dense(d, d),
    k: dense(d, d),
    v: dense(d, d),
    o: dense(d, d),
    ln2: layerNorm(),
    fc1: dense(d, config.mlpWidth),
    fc2: dense(config.mlpWidth, d),
  });
  const side = config.imageSize / config.patchSize;
  const stemInputs = convStemInputs(config);
  const stem = config.convStem?.map(
    (out, i): ConvWeights => ({
      kernel: normal([3, 3, stemInputs[i], out], Math.sqrt(2 / (9 * stemInputs[i]))) as tf.Tensor4D,
      bias: tf.zeros([out]),
    }),
  );
  return {
    ...(stem ? { stem } : {}),
    patchEmbedding: normal([patchEmbeddingInputs(config), d]) as tf.Tensor2D,
    classEmbedding: normal([d]) as tf.Tensor1D,
    positionEmbedding: normal([1 + side * side, d]) as tf.Tensor2D,
    preLayerNorm: layerNorm(),
    blocks: Array.from({ length: config.depth }, block),
    postLayerNorm: layerNorm(),
    projection: normal([d, config.projectionDim]) as tf.Tensor2D,
  };
}
