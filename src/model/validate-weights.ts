import type * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';
import { convStemInputs, patchCount, patchEmbeddingInputs, type ViTConfig } from './config';
import type { LayerNormWeights, LinearWeights, ViTWeights } from './weights';

/** Throws a ShapeError naming the first tensor whose shape does not fit `config`. */
export function validateViTWeights(config: ViTConfig, weights: ViTWeights): void {
  const d = config.width;
  const expect = (t: tf.Tensor | undefined, shape: number[], name: string) => {
    if (!t) throw new ShapeError(`ViT weights: ${name} is missing`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new ShapeError(`ViT weights: ${name} must be [${shape}], found [${t.shape}]`);
    }
  };
  const norm = (n: LayerNormWeights, name: string) => {
    expect(n.gamma, [d], `${name}.gamma`);
    expect(n.beta, [d], `${name}.beta`);
  };
  const linear = (l: LinearWeights, inputs: number, outputs: number, name: string) => {
    expect(l.kernel, [inputs, outputs], `${name}.kernel`);
    if (l.bias) expect(l.bias, [outputs], `${name}.bias`);
  };
  const stem = config.convStem ?? [];
  if ((weights.stem?.length ?? 0) !== stem.length) {
    throw new ShapeError(`ViT weights: the config asks for ${stem.length} conv stem stages, found ${weights.stem?.length ?? 0}`);
  }
  stem.forEach((out, i) => {
    expect(weights.stem?.[i].kernel, [3, 3, convStemInputs(config)[i], out], `stem.${i}.kernel`);
    expect(weights.stem?.[i].bias, [out], `stem.${i}.bias`);
  });
  expect(weights.patchEmbedding, [patchEmbeddingInputs(config), d], 'patchEmbedding');
  expect(weights.classEmbedding, [d], 'classEmbedding');
  expect(weights.positionEmbedding, [1 + patchCount(config), d], 'positionEmbedding');
  norm(weights.preLayerNorm, 'preLayerNorm');
  if (weights.blocks.length !== config.depth) {
    throw new ShapeError(`ViT weights: expected ${config.depth} blocks, found ${weights.blocks.length}`);
  }
  weights.blocks.forEach((b, i) => {
    norm(b.ln1, `blocks.${i}.ln1`);
    for (const p of ['q', 'k', 'v', 'o'] as const) linear(b[p], d, d, `blocks.${i}.${p}`);
    norm(b.ln2, `blocks.${i}.ln2`);
    linear(b.fc1, d, config.mlpWidth, `blocks.${i}.fc1`);
    linear(b.fc2, config.mlpWidth, d, `blocks.${i}.fc2`);
  });
  norm(weights.postLayerNorm, 'postLayerNorm');
  expect(weights.projection, [d, config.projectionDim], 'projection');
}
