import * as tf from '@tensorflow/tfjs';
import type { LayerNormWeights, LinearWeights, ViTWeights } from './weights';

/** Every tensor of a ViTWeights, in a fixed order (for disposal, counting and copying). */
export function weightTensors(weights: ViTWeights): tf.Tensor[] {
  const linear = (l: LinearWeights) => (l.bias ? [l.kernel, l.bias] : [l.kernel]);
  const norm = (n: LayerNormWeights) => [n.gamma, n.beta];
  return [
    weights.patchEmbedding,
    weights.classEmbedding,
    weights.positionEmbedding,
    ...norm(weights.preLayerNorm),
    ...weights.blocks.flatMap((b) => [
      ...norm(b.ln1), ...linear(b.q), ...linear(b.k), ...linear(b.v), ...linear(b.o),
      ...norm(b.ln2), ...linear(b.fc1), ...linear(b.fc2),
    ]),
    ...norm(weights.postLayerNorm),
    weights.projection,
  ];
}

/** The same structure with every tensor replaced by f(tensor). */
export function mapViTWeights(weights: ViTWeights, f: (t: tf.Tensor) => tf.Tensor): ViTWeights {
  const linear = (l: LinearWeights): LinearWeights => ({
    kernel: f(l.kernel) as tf.Tensor2D,
    ...(l.bias ? { bias: f(l.bias) as tf.Tensor1D } : {}),
  });
  const norm = (n: LayerNormWeights): LayerNormWeights => ({ gamma: f(n.gamma) as tf.Tensor1D, beta: f(n.beta) as tf.Tensor1D });
  return {
    patchEmbedding: f(weights.patchEmbedding) as tf.Tensor2D,
    classEmbedding: f(weights.classEmbedding) as tf.Tensor1D,
    positionEmbedding: f(weights.positionEmbedding) as tf.Tensor2D,
    preLayerNorm: norm(weights.preLayerNorm),
    blocks: weights.blocks.map((b) => ({
      ln1: norm(b.ln1), q: linear(b.q), k: linear(b.k), v: linear(b.v), o: linear(b.o),
      ln2: norm(b.ln2), fc1: linear(b.fc1), fc2: linear(b.fc2),
    })),
    postLayerNorm: norm(weights.postLayerNorm),
    projection: f(weights.projection) as tf.Tensor2D,
  };
}

/** A deep copy (the copy owns its tensors). */
export function cloneViTWeights(weights: ViTWeights): ViTWeights {
  return mapViTWeights(weights, (t) => t.clone());
}
