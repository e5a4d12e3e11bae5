import type * as tf from '@tensorflow/tfjs';
import type { ProjectionName } from './weights';

/** One adapted weight matrix: projection `projection` of block `layer` (0-based). */
export interface AdapterSite {
  layer: number;
  projection: ProjectionName;
}

/**
 * The hook through which the model runs adapters: defined beside the model, which knows no
 * adapter; every adapter in src/adapters (LoRA, CLoRA, uniform and learned composition)
 * implements it. The model calls `apply` inside each adapted linear layer: y = x·W + b + apply(site, x).
 * All tensors are created inside the caller's tf.tidy; adapters own only their variables.
 */
export interface Adapter {
  readonly kind: string;
  readonly sites: readonly AdapterSite[];
  /** x·ΔW for `site`; x is [M, in], result [M, out]; null where this adapter leaves the site alone. */
  apply(site: AdapterSite, x: tf.Tensor2D): tf.Tensor2D | null;
  /**
   * When ΔW = scale·A·B at `site` (LoRA): A [in, r], B [r, out] and scale, so the model can run the
   * adapted projection as one product (src/ops loraLinear) instead of calling `apply`.
   */
  lowRankFactors?(site: AdapterSite): { a: tf.Tensor2D; b: tf.Tensor2D; scale: number } | null;
  /** ΔW of `site` as an [in, out] matrix (for merging and analysis); null if not adapted. */
  deltaWeight(site: AdapterSite): tf.Tensor2D | null;
  /** Variables an optimiser should update (empty for frozen adapters). */
  trainableVariables(): tf.Variable[];
  /** Number of trainable scalars. */
  parameterCount(): number;
  /** A data-free regulariser on the adapter's own matrices (e.g. CLoRA's SADE); null if none. */
  regularizer(): tf.Scalar | null;
  dispose(): void;
}

/** Stable key of a site, e.g. "3.q". */
export function siteKey(site: AdapterSite): string {
  return `${site.layer}.${site.projection}`;
}
