import * as tf from '@tensorflow/tfjs';
import type { Adapter } from './adapter-hook';
import { ShapeError } from '../errors';
import { attention, extractPatches, layerNorm, linear, loraLinear, matMul2d, quickGelu, selectTokens } from '../ops';
import { convStemRows } from './conv-stem';
import { patchCount, validateViTConfig, type ViTConfig } from './config';
import { randomViTWeights } from './init';
import { treeTensors } from './tensor-tree';
import { clsAttentionScores, keepTopTokens, tokensAfterPruning, validatePruningSchedule, type PruningSchedule } from './token-pruning';
import { validateViTWeights } from './validate-weights';
import type { BlockWeights, LayerNormWeights, ProjectionName } from './weights';
import type { ViTWeights } from './weights';

export type { PruningSchedule } from './token-pruning';

export interface ForwardOptions {
  /** LoRA / CLoRA / composition added inside the adapted projections; null = plain backbone. */
  adapter?: Adapter | null;
  /** Return each layer's attention softmax. */
  returnAttention?: boolean;
  /** Sparse tokens: int32 [B, n] patch indices (row-major) to feed; [CLS] is always added. */
  patchPositions?: tf.Tensor2D;
  /** Token pruning after these layers' attention (method.md §1.4). */
  pruning?: PruningSchedule;
}

export interface ForwardOutput {
  features: tf.Tensor2D; // [B, projectionDim] projected [CLS], not L2-normalised
  attentions?: tf.Tensor4D[]; // per layer [B, heads, T_l, T_l], token 0 = [CLS]
  keptPatches: tf.Tensor2D; // int32 [B, n_final] patch indices that reached the end
}

/**
 * CLIP's vision tower (HF `CLIPVisionModelWithProjection`): patch embedding without bias (or an
 * early-convolution stem, ViTConfig.convStem),
 * [CLS] + positional embeddings, pre-LayerNorm, pre-LN blocks with QuickGELU MLPs,
 * post-LayerNorm on [CLS], projection without bias. The residual stream is kept as
 * [B·T, D] rows so every product is a 2-D matMul (src/ops).
 */
export class VisionTransformer {
  readonly config: ViTConfig;
  readonly weights: ViTWeights;

  /** Takes ownership of `weights` (dispose() frees them). */
  constructor(config: ViTConfig, weights: ViTWeights) {
    validateViTConfig(config);
    validateViTWeights(config, weights);
    this.config = config;
    this.weights = weights;
  }

  static random(config: ViTConfig, seed = 0): VisionTransformer {
    validateViTConfig(config);
    return new VisionTransformer(config, randomViTWeights(config, seed));
  }

  /** images: normalised [B, H, W, C] (see preprocess.ts). */
  forward(images: tf.Tensor4D, options: ForwardOptions = {}): ForwardOutput {
    this.checkImages(images);
    const { adapter = null, pruning = {} } = options;
    validatePruningSchedule(pruning, this.config.depth);
    return tf.tidy(() => {
      const b = images.shape[0];
      let { tokens, positions } = this.embed(images, options.patchPositions);
      let n = positions.shape[1]; // patch tokens present
      const attentions: tf.Tensor4D[] = [];
      const last = this.config.depth - 1;
      let cls: tf.Tensor2D | undefined; // [B, D], set when the last block runs on [CLS] only
      this.weights.blocks.forEach((block, layer) => {
        const ratio = pruning[layer] ?? 0;
        const needWeights = options.returnAttention || ratio > 0;
        if (layer === last && !needWeights) {
          cls = this.clsOnlyBlock(block, layer, tokens, b, 1 + n, adapter);
          return;
        }
        // x = x + Attn(LN1(x))  (pre-LN residual)
        const attended = this.attentionBlock(block, layer, tokens, b, 1 + n, adapter, needWeights);
        tokens = tf.add(tokens, attended.output);
        if (attended.weights && options.returnAttention) attentions.push(attended.weights);
        if (ratio > 0 && attended.weights) {
          const keep = tokensAfterPruning(n, ratio);
          const pruned = keepTopTokens(tokens, clsAttentionScores(attended.weights), positions, b, keep);
          tokens = pruned.tokens;
          positions = pruned.positions;
          n = keep;
        }
        // x = x + MLP(LN2(x)), on the survivors only
        tokens = tf.add(tokens, this.mlpBlock(block, layer, tokens, adapter));
      });
      const pooled = this.norm(cls ?? this.clsRows(tokens, b, 1 + n), this.weights.postLayerNorm);
      const features = matMul2d(pooled, this.weights.projection); // [B, projectionDim]
      return options.returnAttention ? { features, attentions, keptPatches: positions } : { features, keptPatches: positions };
    });
  }

  dispose(): void {
    for (const t of treeTensors(this.weights)) t.dispose();
  }

  private checkImages(images: tf.Tensor4D): void {
    const { imageSize, channels } = this.config;
    const [, h, w, c] = images.shape;
    if (images.rank !== 4 || h !== imageSize || w !== imageSize || c !== channels) {
      throw new ShapeError(
        `VisionTransformer.forward: expected images [B, ${imageSize}, ${imageSize}, ${channels}], found [${images.shape}]`,
      );
    }
  }

  /** Patch + position embeddings, optional sparse selection, [CLS] first, pre-LayerNorm → [B·T, D]. */
  private embed(images: tf.Tensor4D, patchPositions?: tf.Tensor2D): { tokens: tf.Tensor2D; positions: tf.Tensor2D } {
    const b = images.shape[0];
    const d = this.config.width;
    const p = patchCount(this.config);
    const w = this.weights;
    const patches = matMul2d(w.stem ? convStemRows(images, w.stem) : extractPatches(images, this.config.patchSize), w.patchEmbedding); // [B·P, D]
    const patchPos = tf.slice(w.positionEmbedding, [1, 0], [p, d]); // [P, D]
    let embedded = tf.add(tf.reshape(patches, [b, p, d]), patchPos) as tf.Tensor3D; // [B, P, D]
    let positions: tf.Tensor2D;
    if (patchPositions) {
      this.checkPositions(patchPositions, b, p);
      embedded = selectTokens(embedded, patchPositions); // [B, n, D], each with its own position
      positions = patchPositions.clone();
    } else {
      positions = tf.tile(tf.range(0, p, 1, 'int32').reshape([1, p]), [b, 1]) as tf.Tensor2D;
    }
    const n = embedded.shape[1];
    const cls = tf.add(w.classEmbedding, tf.reshape(tf.slice(w.positionEmbedding, [0, 0], [1, d]), [d])); // [D]
    const clsRows = tf.tile(tf.reshape(cls, [1, 1, d]), [b, 1, 1]); // [B, 1, D]
    const sequence = tf.reshape(tf.concat([clsRows, embedded], 1), [b * (1 + n), d]) as tf.Tensor2D;
    return { tokens: this.norm(sequence, w.preLayerNorm), positions };
  }

  private checkPositions(positions: tf.Tensor2D, batch: number, patches: number): void {
    if (positions.rank !== 2 || positions.shape[0] !== batch || positions.dtype !== 'int32') {
      throw new ShapeError(`patchPositions must be int32 [${batch}, n], found ${positions.dtype} [${positions.shape}]`);
    }
    const [low, high] = tf.tidy(() => [tf.min(positions).dataSync()[0], tf.max(positions).dataSync()[0]]);
    if (positions.shape[1] > 0 && (low < 0 || high >= patches)) {
      throw new ShapeError(`patchPositions must lie in 0..${patches - 1}, found values in ${low}..${high}`);
    }
  }

  private attentionBlock(
    block: BlockWeights,
    layer: number,
    x: tf.Tensor2D,
    batch: number,
    tokens: number,
    adapter: Adapter | null,
    returnWeights: boolean,
  ): { output: tf.Tensor2D; weights?: tf.Tensor4D } {
    const h = this.norm(x, block.ln1);
    const q = this.project(block, 'q', layer, h, adapter);
    const k = this.project(block, 'k', layer, h, adapter);
    const v = this.project(block, 'v', layer, h, adapter);
    const attended = attention(q, k, v, { batch, tokens, heads: this.config.heads, returnWeights });
    return { output: this.project(block, 'o', layer, attended.output, adapter), weights: attended.weights };
  }

  /**
   * The last block when its attention weights are not wanted: only [CLS] reaches the output, so
   * keys and values use every token but the queries, the output projection and the MLP run on the
   * B [CLS] rows alone (about a fifth of a depth-4 model's products). x [B·T, D] → [CLS] rows [B, D].
   */
  private clsOnlyBlock(
    block: BlockWeights,
    layer: number,
    x: tf.Tensor2D,
    batch: number,
    tokens: number,
    adapter: Adapter | null,
  ): tf.Tensor2D {
    const h = this.norm(x, block.ln1);
    const q = this.project(block, 'q', layer, this.clsRows(h, batch, tokens), adapter); // [B, D]
    const k = this.project(block, 'k', layer, h, adapter);
    const v = this.project(block, 'v', layer, h, adapter);
    const attended = attention(q, k, v, { batch, tokens, heads: this.config.heads, queryTokens: 1 });
    const cls = tf.add(this.clsRows(x, batch, tokens), this.project(block, 'o', layer, attended.output, adapter)) as tf.Tensor2D;
    return tf.add(cls, this.mlpBlock(block, layer, cls, adapter));
  }

  /** Token 0 of each image: x [B·T, D] → [B, D]. */
  private clsRows(x: tf.Tensor2D, batch: number, tokens: number): tf.Tensor2D {
    const d = this.config.width;
    return tf.reshape(tf.slice(tf.reshape(x, [batch, tokens, d]), [0, 0, 0], [batch, 1, d]), [batch, d]);
  }

  private mlpBlock(block: BlockWeights, layer: number, x: tf.Tensor2D, adapter: Adapter | null): tf.Tensor2D {
    const hidden = quickGelu(this.project(block, 'fc1', layer, this.norm(x, block.ln2), adapter));
    return this.project(block, 'fc2', layer, hidden as tf.Tensor2D, adapter);
  }

  /** y = x·W + b, plus the adapter's x·ΔW where it adapts this site (low-rank ΔW fused into one product). */
  private project(block: BlockWeights, projection: ProjectionName, layer: number, x: tf.Tensor2D, adapter: Adapter | null): tf.Tensor2D {
    const { kernel, bias } = block[projection];
    const factors = adapter?.lowRankFactors?.({ layer, projection });
    if (factors) return loraLinear(x, kernel, bias, factors.a, factors.b, factors.scale);
    const base = linear(x, kernel, bias);
    const delta = adapter?.apply({ layer, projection }, x);
    return delta ? tf.add(base, delta) : base;
  }

  private norm(x: tf.Tensor2D, weights: LayerNormWeights): tf.Tensor2D {
    return layerNorm(x, weights.gamma, weights.beta, this.config.layerNormEps);
  }
}
