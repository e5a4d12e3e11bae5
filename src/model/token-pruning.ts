import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import { selectTokens } from '../ops';

/** {layer (0-based): ratio ρ_l}: after layer l's attention, drop ⌊ρ_l · n⌋ patch tokens. */
export type PruningSchedule = Record<number, number>;

/** Throws a ConfigError unless every layer is a block index and every ratio is in [0, 1). */
export function validatePruningSchedule(schedule: PruningSchedule, depth: number): void {
  for (const [layerText, ratio] of Object.entries(schedule)) {
    const layer = Number(layerText);
    if (!Number.isInteger(layer) || layer < 0 || layer >= depth) {
      throw new ConfigError(`pruning: layer ${layerText} is not a block index in 0..${depth - 1}`);
    }
    if (!(ratio >= 0 && ratio < 1)) {
      throw new ConfigError(`pruning: ratio of layer ${layer} must be in [0, 1), found ${ratio}`);
    }
  }
}

/** Patch tokens left after dropping ⌊ρ · n⌋ of n (method.md §1.4; ratios compound). */
export function tokensAfterPruning(n: number, ratio: number): number {
  return n - Math.floor(ratio * n);
}

/**
 * Importance of each patch token: mean over heads of the [CLS] row of the attention
 * softmax, without the [CLS] column. weights [B, H, T, T] → [B, T − 1].
 */
export function clsAttentionScores(weights: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const [b, h, t] = weights.shape;
    const clsRow = tf.slice(weights, [0, 0, 0, 1], [b, h, 1, t - 1]); // [B, H, 1, T−1]
    return tf.reshape(tf.mean(clsRow, 1), [b, t - 1]) as tf.Tensor2D;
  });
}

export interface PrunedTokens {
  tokens: tf.Tensor2D; // [B·(1 + keep), D] residual stream of the survivors, [CLS] first
  positions: tf.Tensor2D; // int32 [B, keep] original patch indices of the survivors (ascending)
  keep: number;
}

/**
 * Indices of the `keep` highest scores of each row, in ascending index order (so survivors stay
 * in raster order); ties go to the lower index. scores [B, n] → number[B][keep].
 * Computed on the host: the choice carries no gradient, and it stays exact on every backend.
 */
export function topScoringSlots(scores: tf.Tensor2D, keep: number): number[][] {
  return (scores.arraySync() as number[][]).map((row) =>
    row
      .map((score, slot) => ({ score, slot }))
      .sort((p, q) => q.score - p.score || p.slot - q.slot)
      .slice(0, keep)
      .map((p) => p.slot)
      .sort((p, q) => p - q),
  );
}

/**
 * Keeps [CLS] and the `keep` highest-scoring patch tokens of each image.
 * tokens [B·T, D] (token 0 of each image is [CLS]); scores [B, T − 1]; positions int32 [B, T − 1].
 * Gradients flow to the surviving tokens (selectTokens), not through the choice itself.
 */
export function keepTopTokens(tokens: tf.Tensor2D, scores: tf.Tensor2D, positions: tf.Tensor2D, batch: number, keep: number): PrunedTokens {
  const slots = topScoringSlots(scores, keep);
  const keptPositions = (positions.arraySync() as number[][]).map((row, b) => slots[b].map((slot) => row[slot]));
  return tf.tidy(() => {
    const t = tokens.shape[0] / batch;
    const d = tokens.shape[1];
    const tokenSlots = tf.tensor2d(
      slots.map((row) => [0, ...row.map((slot) => slot + 1)]),
      [batch, 1 + keep],
      'int32',
    );
    const survivors = selectTokens(tf.reshape(tokens, [batch, t, d]) as tf.Tensor3D, tokenSlots); // [B, 1 + keep, D]
    return {
      tokens: tf.reshape(survivors, [batch * (1 + keep), d]) as tf.Tensor2D,
      positions: tf.tensor2d(keptPositions, [batch, keep], 'int32'),
      keep,
    };
  });
}
