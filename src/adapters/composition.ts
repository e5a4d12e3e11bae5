import * as tf from '@tensorflow/tfjs';
import { CompatibilityError } from '../errors';
import { matMul2d } from '../ops';
import { siteKey, type Adapter, type AdapterSite } from '../model/adapter-hook';
import type { LoraParameters } from './lora-parameters';

/** One frozen LoRA inside a composition: per site its own A [in, r] and B [r, out] and scale. */
interface FrozenPart {
  scale: number;
  factors: Map<string, { a: tf.Tensor2D; b: tf.Tensor2D }>;
}

/**
 * Checks that all parts adapt the same sites with matching shapes (Asadi et al.: all modules
 * target the same layers of the same backbone) and copies their factors.
 */
function frozenParts(parts: readonly LoraParameters[]): { sites: AdapterSite[]; frozen: FrozenPart[] } {
  if (parts.length === 0) throw new CompatibilityError('a composition needs at least one LoRA');
  const sites = parts[0].factors.map((f) => ({ ...f.site }));
  const keys = sites.map(siteKey).sort().join(',');
  parts.forEach((part, n) => {
    const partKeys = part.factors.map((f) => siteKey(f.site)).sort().join(',');
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
  const frozen = parts.map((part) => ({
    scale: part.scale,
    factors: new Map(part.factors.map((f) => [siteKey(f.site), { a: f.a.clone(), b: f.b.clone() }])),
  }));
  return { sites, frozen };
}

/**
 * Σ_n w_n · scale_n · (x·A_n)·B_n at a site: the sum of the parts' products, never of their
 * factors (averaging A and B separately would create cross terms).
 */
function weightedUpdate(frozen: FrozenPart[], key: string, x: tf.Tensor2D, weights: tf.Tensor1D): tf.Tensor2D {
  const terms = frozen.map((part, n) => {
    const f = part.factors.get(key)!;
    const w = tf.mul(tf.slice(weights, [n], [1]), part.scale); // [1]
    return tf.mul(matMul2d(matMul2d(x, f.a), f.b), w);
  });
  return tf.addN(terms) as tf.Tensor2D;
}

function weightedDelta(frozen: FrozenPart[], key: string, weights: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() =>
    tf.addN(frozen.map((part, n) => {
      const f = part.factors.get(key)!;
      return tf.mul(matMul2d(f.a, f.b), tf.mul(tf.slice(weights, [n], [1]), part.scale));
    })) as tf.Tensor2D,
  );
}

abstract class Composition implements Adapter {
  abstract readonly kind: string;
  readonly sites: readonly AdapterSite[];
  protected readonly frozen: FrozenPart[];

  protected constructor(parts: readonly LoraParameters[]) {
    const { sites, frozen } = frozenParts(parts);
    this.sites = sites;
    this.frozen = frozen;
  }

  get size(): number {
    return this.frozen.length;
  }

  /** The mixing weights of a site's layer, [N] summing to 1. */
  protected abstract mixing(site: AdapterSite): tf.Tensor1D;

  apply(site: AdapterSite, x: tf.Tensor2D): tf.Tensor2D | null {
    const key = siteKey(site);
    if (!this.frozen[0].factors.has(key)) return null;
    return weightedUpdate(this.frozen, key, x, this.mixing(site));
  }

  deltaWeight(site: AdapterSite): tf.Tensor2D | null {
    const key = siteKey(site);
    if (!this.frozen[0].factors.has(key)) return null;
    return tf.tidy(() => weightedDelta(this.frozen, key, this.mixing(site)));
  }

  abstract trainableVariables(): tf.Variable[];

  parameterCount(): number {
    return this.trainableVariables().reduce((sum, v) => sum + v.size, 0);
  }

  regularizer(): tf.Scalar | null {
    return null;
  }

  dispose(): void {
    for (const part of this.frozen) for (const f of part.factors.values()) tf.dispose([f.a, f.b]);
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
