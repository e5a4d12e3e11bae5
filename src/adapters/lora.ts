import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../errors';
import type { ViTConfig } from '../model/config';
import type { ProjectionName } from '../model/weights';
import { matMul2d } from '../ops';
import { siteKey, type Adapter, type AdapterSite } from '../model/adapter-hook';
import type { LoraParameters } from './lora-parameters';
import { projectionShape, sitesFor } from './sites';

export interface LoraOptions {
  rank?: number; // r, default 4
  targets?: ProjectionName[]; // default q and v (method.md §1.1)
  /** PEFT's lora_alpha: scale = α / r. Omitted: scale 1, as in the paper. */
  alpha?: number;
  seed?: number;
}

interface Factors {
  site: AdapterSite;
  a: tf.Variable<tf.Rank.R2>; // A [in, r]
  b: tf.Variable<tf.Rank.R2>; // B [r, out]
}

/** LoRA: y = x·W + scale · (x·A)·B at each target projection. */
export class LoRA implements Adapter {
  readonly kind = 'lora';
  readonly sites: readonly AdapterSite[];
  private readonly bySite: Map<string, Factors>;

  private constructor(
    readonly rank: number,
    readonly scale: number,
    factors: Factors[],
  ) {
    this.sites = factors.map((f) => f.site);
    this.bySite = new Map(factors.map((f) => [siteKey(f.site), f]));
  }

  /** A fresh LoRA: A Kaiming-uniform (PyTorch's a = √5, i.e. U(±1/√in)), B zeros, so ΔW = 0. */
  static create(config: ViTConfig, options: LoraOptions = {}): LoRA {
    const rank = options.rank ?? 4;
    if (!Number.isInteger(rank) || rank <= 0) throw new ConfigError(`LoRA rank must be a positive integer, found ${rank}`);
    let seed = options.seed ?? 0;
    const factors = sitesFor(config, options.targets ?? ['q', 'v']).map((site) => {
      const [inputs, outputs] = projectionShape(config, site.projection);
      const bound = 1 / Math.sqrt(inputs);
      return {
        site,
        a: tf.tidy(() => tf.variable(tf.randomUniform([inputs, rank], -bound, bound, 'float32', seed++))) as tf.Variable<tf.Rank.R2>,
        b: tf.tidy(() => tf.variable(tf.zeros([rank, outputs]))) as tf.Variable<tf.Rank.R2>,
      };
    });
    return new LoRA(rank, options.alpha === undefined ? 1 : options.alpha / rank, factors);
  }

  /** A LoRA holding copies of `parameters`' factors; frozen unless `trainable`. */
  static fromParameters(parameters: LoraParameters, options: { trainable?: boolean } = {}): LoRA {
    const trainable = options.trainable ?? false;
    const seen = new Set<string>();
    const factors = parameters.factors.map(({ site, a, b }) => {
      if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== parameters.rank || b.shape[0] !== parameters.rank) {
        throw new ShapeError(
          `LoRA site ${siteKey(site)}: expected A [in, ${parameters.rank}] and B [${parameters.rank}, out], found [${a.shape}] and [${b.shape}]`,
        );
      }
      if (seen.has(siteKey(site))) throw new ShapeError(`LoRA site ${siteKey(site)} appears twice`);
      seen.add(siteKey(site));
      return {
        site: { ...site },
        a: tf.variable(a, trainable) as tf.Variable<tf.Rank.R2>,
        b: tf.variable(b, trainable) as tf.Variable<tf.Rank.R2>,
      };
    });
    return new LoRA(parameters.rank, parameters.scale, factors);
  }

  /** Copies of the factors (the caller owns them). */
  toParameters(): LoraParameters {
    return {
      rank: this.rank,
      scale: this.scale,
      factors: [...this.bySite.values()].map(({ site, a, b }) => ({ site: { ...site }, a: a.clone(), b: b.clone() })),
    };
  }

  /** The factors of a site (owned by this LoRA), or undefined. */
  factorsAt(site: AdapterSite): { a: tf.Tensor2D; b: tf.Tensor2D } | undefined {
    return this.bySite.get(siteKey(site));
  }

  lowRankFactors(site: AdapterSite): { a: tf.Tensor2D; b: tf.Tensor2D; scale: number } | null {
    const f = this.bySite.get(siteKey(site));
    return f ? { a: f.a, b: f.b, scale: this.scale } : null;
  }

  apply(site: AdapterSite, x: tf.Tensor2D): tf.Tensor2D | null {
    const f = this.bySite.get(siteKey(site));
    if (!f) return null;
    const update = matMul2d(matMul2d(x, f.a), f.b); // [M, r]·[r, out]
    return this.scale === 1 ? update : (tf.mul(update, this.scale) as tf.Tensor2D);
  }

  deltaWeight(site: AdapterSite): tf.Tensor2D | null {
    const f = this.bySite.get(siteKey(site));
    if (!f) return null;
    return tf.tidy(() => tf.mul(matMul2d(f.a, f.b), this.scale) as tf.Tensor2D); // ΔW = scale·A·B
  }

  trainableVariables(): tf.Variable[] {
    return [...this.bySite.values()].flatMap((f) => [f.a, f.b]).filter((v) => v.trainable);
  }

  parameterCount(): number {
    return [...this.bySite.values()].reduce((sum, f) => sum + f.a.size + f.b.size, 0);
  }

  regularizer(): tf.Scalar | null {
    return null;
  }

  dispose(): void {
    for (const f of this.bySite.values()) {
      f.a.dispose();
      f.b.dispose();
    }
  }
}
