import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import type { ViTConfig } from '../model/config';
import type { ProjectionName } from '../model/weights';
import { matMul2d } from '../ops';
import { siteKey, type Adapter, type AdapterSite } from '../model/adapter-hook';
import { sitesFor } from './sites';

export interface CLoRAOptions {
  rank?: number; // r, default 4
  pairs?: number; // p shared down/up pairs, default 2
  targets?: ProjectionName[]; // square projections only (q, k, v, o); default q and v
  sadeWeight?: number; // λ of the SADE regulariser, default 1e-3
  seed?: number;
}

/**
 * CLoRA (method.md §3): p shared pairs D_h [d, r], U_h [r, d] serve all m adapted matrices;
 * matrix j owns r×r cores Q_h^j and ΔW_j = Σ_h D_h·Q_h^j·U_h (in our [in, out] layout).
 * Trainable scalars: p·(2dr + m·r²) against 2drm for m independent LoRAs.
 * Initialisation: D_h Kaiming-uniform, Q_h^j = I, U_h = 0, so ΔW = 0 at the start (as LoRA's B).
 */
export class CLoRA implements Adapter {
  readonly kind = 'clora';
  readonly sites: readonly AdapterSite[];
  readonly rank: number;
  readonly sadeWeight: number;
  private readonly down: tf.Variable<tf.Rank.R2>[]; // D_h [d, r]
  private readonly up: tf.Variable<tf.Rank.R2>[]; // U_h [r, d]
  private readonly cores: Map<string, tf.Variable<tf.Rank.R2>[]>; // Q_h^j [r, r] per site j

  private constructor(config: ViTConfig, options: CLoRAOptions) {
    const rank = options.rank ?? 4;
    const pairs = options.pairs ?? 2;
    for (const [name, value] of [
      ['rank', rank],
      ['pairs', pairs],
    ] as const) {
      if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`CLoRA ${name} must be a positive integer, found ${value}`);
    }
    const targets = options.targets ?? ['q', 'v'];
    const nonSquare = targets.filter((t) => t === 'fc1' || t === 'fc2');
    if (nonSquare.length > 0) {
      throw new ConfigError(`CLoRA shares d×d bases, so it adapts only q, k, v, o; found ${nonSquare.join(', ')}`);
    }
    this.rank = rank;
    this.sadeWeight = options.sadeWeight ?? 1e-3;
    this.sites = sitesFor(config, targets);
    let seed = options.seed ?? 0;
    const d = config.width;
    const bound = 1 / Math.sqrt(d);
    this.down = Array.from(
      { length: pairs },
      () => tf.tidy(() => tf.variable(tf.randomUniform([d, rank], -bound, bound, 'float32', seed++))) as tf.Variable<tf.Rank.R2>,
    );
    this.up = Array.from({ length: pairs }, () => tf.tidy(() => tf.variable(tf.zeros([rank, d]))) as tf.Variable<tf.Rank.R2>);
    this.cores = new Map(
      this.sites.map((site) => [
        siteKey(site),
        Array.from({ length: pairs }, () => tf.tidy(() => tf.variable(tf.eye(rank))) as tf.Variable<tf.Rank.R2>),
      ]),
    );
  }

  static create(config: ViTConfig, options: CLoRAOptions = {}): CLoRA {
    return new CLoRA(config, options);
  }

  get pairs(): number {
    return this.down.length;
  }

  apply(site: AdapterSite, x: tf.Tensor2D): tf.Tensor2D | null {
    const q = this.cores.get(siteKey(site));
    if (!q) return null;
    // x·ΔW = Σ_h ((x·D_h)·Q_h)·U_h: three thin products per pair, never a d×d matrix
    return tf.addN(q.map((core, h) => matMul2d(matMul2d(matMul2d(x, this.down[h]), core), this.up[h]))) as tf.Tensor2D;
  }

  deltaWeight(site: AdapterSite): tf.Tensor2D | null {
    const q = this.cores.get(siteKey(site));
    if (!q) return null;
    return tf.tidy(() => tf.addN(q.map((core, h) => this.component(h, core))) as tf.Tensor2D);
  }

  /** D_h·Q·U_h [d, d] (for merging and tests). */
  private component(h: number, core: tf.Tensor2D): tf.Tensor2D {
    return matMul2d(matMul2d(this.down[h], core), this.up[h]);
  }

  /**
   * SADE = Σ_j Σ_{h≠h'} ||(D_h Q_h^j U_h)ᵀ (D_h' Q_h'^j U_h')||_F², over ordered pairs, unnormalised.
   * In factor space: with G = D_hᵀ D_h', C = Q_h^jᵀ G Q_h'^j and S_h = U_h U_hᵀ (all r×r),
   * the term equals Σ((C·S_h'·Cᵀ) ⊙ S_h) — no d×d product is formed.
   */
  sade(): tf.Scalar {
    return tf.tidy(() => {
      const p = this.pairs;
      const s = this.up.map((u) => matMul2d(u, tf.transpose(u) as tf.Tensor2D)); // S_h [r, r]
      const terms: tf.Scalar[] = [];
      for (const q of this.cores.values()) {
        for (let h = 0; h < p; h++) {
          for (let g = 0; g < p; g++) {
            if (g === h) continue;
            const gram = matMul2d(tf.transpose(this.down[h]) as tf.Tensor2D, this.down[g]); // D_hᵀ D_h' [r, r]
            const c = matMul2d(matMul2d(tf.transpose(q[h]) as tf.Tensor2D, gram), q[g]); // [r, r]
            const csc = matMul2d(matMul2d(c, s[g]), tf.transpose(c) as tf.Tensor2D);
            terms.push(tf.sum(tf.mul(csc, s[h])));
          }
        }
      }
      return terms.length > 0 ? (tf.addN(terms) as tf.Scalar) : tf.scalar(0);
    });
  }

  regularizer(): tf.Scalar {
    return tf.tidy(() => tf.mul(this.sade(), this.sadeWeight) as tf.Scalar);
  }

  trainableVariables(): tf.Variable[] {
    return [...this.down, ...this.up, ...[...this.cores.values()].flat()];
  }

  /** p·(2dr + m·r²). */
  parameterCount(): number {
    return this.trainableVariables().reduce((sum, v) => sum + v.size, 0);
  }

  dispose(): void {
    tf.dispose(this.trainableVariables());
  }
}
