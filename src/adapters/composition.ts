import * as tf from '@tensorflow/tfjs';
import { CompatibilityError } from '../errors';
import { matMul2d } from '../ops';
import { siteKey, type Adapter, type AdapterSite } from '../model/adapter-hook';
import type { LoraParameters } from './lora-parameters';

/**
 * The N frozen LoRAs of a composition at one site, stacked: A_cat = [A_1 … A_N] [in, N·r] and
 * B_cat = [scale_1·B_1; …; scale_N·B_N] [N·r, out], so that Σ_n w_n·scale_n·(x·A_n)·B_n =
 * ((x·A_cat) ⊙ w⊗1_r)·B_cat: two products whatever N (never the factors' average, which would
 * create cross terms).
 */
interface StackedFactors {
  a: tf.Tensor2D; // [in, N·r]
  b: tf.Tensor2D; // [N·r, out]
}

/**
 * Checks that all parts adapt the same sites with matching shapes and rank (Asadi et al.: all
 * modules target the same layers of the same backbone) and stacks their factors per site.
 */
function stackedParts(parts: readonly LoraParameters[]): { sites: AdapterSite[]; stacked: Map<string, StackedFactors> } {
  if (parts.length === 0) throw new CompatibilityError('a composition needs at least one LoRA');
  const sites = parts[0].factors.map((f) => ({ ...f.site }));
  const keys = sites.map(siteKey).sort().join(',');
  parts.forEach((part, n) => {
    const partKeys = part.factors
      .map((f) => siteKey(f.site))
      .sort()
      .join(',');
    if (partKeys !== keys) {
      throw new CompatibilityError(`LoRA ${n} adapts sites [${partKeys}], but LoRA 0 adapts [${keys}]`);
    }
    if (part.rank !== parts[0].rank) {
      throw new CompatibilityError(`LoRA ${n} has rank ${part.rank}, but LoRA 0 has rank ${parts[0].rank}`);
    }
    for (const f of part.factors) {
      const ref = parts[0].factors.find((g) => siteKey(g.site) === siteKey(f.site))!;
      if (f.a.shape[0] !== ref.a.shape[0] || f.b.shape[1] !== ref.b.shape[1]) {
        throw new CompatibilityError(
          `LoRA ${n} at site ${siteKey(f.site)} maps ${f.a.shape[0]}→${f.b.shape[1]}, but LoRA 0 maps ${ref.a.shape[0]}→${ref.b.shape[1]} (different backbones?)`,
        );
      }
    }
  });
  const stacked = new Map(
    sites.map((site) => {
      const key = siteKey(site);
      const factors = parts.map((part) => ({ scale: part.scale, ...part.factors.find((f) => siteKey(f.site) === key)! }));
      return [
        key,
        tf.tidy(() => ({
          a: tf.concat(
            factors.map((f) => f.a),
            1,
          ) as tf.Tensor2D,
          b: tf.concat(
            factors.map((f) => tf.mul(f.b, f.scale)),
            0,
          ) as tf.Tensor2D,
        })),
      ];
    }),
  );
  return { sites, stacked };
}

/** w [N] repeated r times each: [N·r], the column weights of x·A_cat. */
function columnWeights(weights: tf.Tensor1D, rank: number): tf.Tensor1D {
  return tf.reshape(tf.tile(tf.reshape(weights, [-1, 1]), [1, rank]), [-1]) as tf.Tensor1D;
}

/** Σ_n w_n · scale_n · (x·A_n)·B_n at a site (see StackedFactors). */
function weightedUpdate(factors: StackedFactors, rank: number, x: tf.Tensor2D, weights: tf.Tensor1D): tf.Tensor2D {
  return matMul2d(tf.mul(matMul2d(x, factors.a), columnWeights(weights, rank)) as tf.Tensor2D, factors.b);
}

/** ΔW = Σ_n w_n · scale_n · A_n·B_n = A_cat · diag(w⊗1_r) · B_cat. */
function weightedDelta(factors: StackedFactors, rank: number, weights: tf.Tensor1D): tf.Tensor2D {
  return matMul2d(tf.mul(factors.a, columnWeights(weights, rank)) as tf.Tensor2D, factors.b);
}

abstract class Composition implements Adapter {
  abstract readonly kind: string;
  readonly sites: readonly AdapterSite[];
  readonly size: number; // N LoRAs
  private readonly rank: number; // r of every part
  private readonly stacked: Map<string, StackedFactors>;

  protected constructor(parts: readonly LoraParameters[]) {
    const { sites, stacked } = stackedParts(parts);
    this.sites = sites;
    this.stacked = stacked;
    this.size = parts.length;
    this.rank = parts[0].rank;
  }

  /** The mixing weights of a site's layer, [N] summing to 1. */
  protected abstract mixing(site: AdapterSite): tf.Tensor1D;

  apply(site: AdapterSite, x: tf.Tensor2D): tf.Tensor2D | null {
    const key = siteKey(site);
    const factors = this.stacked.get(key);
    return factors ? weightedUpdate(factors, this.rank, x, this.mixing(site)) : null;
  }

  deltaWeight(site: AdapterSite): tf.Tensor2D | null {
    const key = siteKey(site);
    const factors = this.stacked.get(key);
    return factors ? tf.tidy(() => weightedDelta(factors, this.rank, this.mixing(site))) : null;
  }

  abstract trainableVariables(): tf.Variable[];

  parameterCount(): number {
    return this.trainableVariables().reduce((sum, v) => sum + v.size, 0);
  }

  regularizer(): tf.Scalar | null {
    return null;
  }

  dispose(): void {
    for (const f of this.stacked.values()) tf.dispose([f.a, f.b]);
  }
}

/** Uniform composition: W' = W + Σ_n (1/N)·A_n·B_n at every adapted site (tuning-free). */
export class UniformComposition extends Composition {
  readonly kind = 'uniform-composition';
  private readonly uniform: tf.Tensor1D;

  private constructor(parts: readonly LoraParameters[]) {
    super(parts);
    this.uniform = tf.fill([parts.length], 1 / parts.length) as tf.Tensor1D;
  }

  static create(parts: readonly LoraParameters[]): UniformComposition {
    return new UniformComposition(parts);
  }

  protected mixing(): tf.Tensor1D {
    return this.uniform;
  }

  trainableVariables(): tf.Variable[] {
    return [];
  }

  dispose(): void {
    super.dispose();
    this.uniform.dispose();
  }
}

/**
 * Learned composition (LoRAHub / MoLE style): W' = W + Σ_n v̂_{l,n}·A_n·B_n with
 * v̂_l = softmax(v_l), one logit per LoRA per adapted layer l, initialised equal so the
 * composition starts exactly at the uniform one. Only v trains; the LoRAs stay frozen.
 */
export class LearnedComposition extends Composition {
  readonly kind = 'learned-composition';
  readonly logits: tf.Variable<tf.Rank.R2>; // v [layers, N]
  private readonly layerRow: Map<number, number>;

  private constructor(parts: readonly LoraParameters[]) {
    super(parts);
    const layers = [...new Set(this.sites.map((s) => s.layer))].sort((a, b) => a - b);
    this.layerRow = new Map(layers.map((layer, row) => [layer, row]));
    this.logits = tf.tidy(() => tf.variable(tf.zeros([layers.length, parts.length]), true)) as tf.Variable<tf.Rank.R2>;
  }

  static create(parts: readonly LoraParameters[]): LearnedComposition {
    return new LearnedComposition(parts);
  }

  protected mixing(site: AdapterSite): tf.Tensor1D {
    const row = this.layerRow.get(site.layer)!;
    return tf.softmax(tf.reshape(tf.slice(this.logits, [row, 0], [1, this.size]), [this.size])) as tf.Tensor1D;
  }

  /** v̂ per adapted layer: [layers][N], each row summing to 1. */
  weights(): number[][] {
    return tf.tidy(() => tf.softmax(this.logits).arraySync() as number[][]);
  }

  trainableVariables(): tf.Variable[] {
    return [this.logits];
  }

  dispose(): void {
    super.dispose();
    this.logits.dispose();
  }
}
