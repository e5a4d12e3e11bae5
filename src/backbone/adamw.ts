import * as tf from '@tensorflow/tfjs';
import { FileFormatError } from '../errors';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number; // decoupled: p ← p − lr·λ·p (Loshchilov & Hutter)
  /** Which parameters get weight decay (default: matrices and higher, not biases, norms or embeddings of rank 1). */
  decays?: (name: string, variable: tf.Variable) => boolean;
}

export const DEFAULT_ADAMW: AdamWOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.05 };

/**
 * Adam with decoupled weight decay over named variables. Its state (moments and step count)
 * has stable names, so a checkpoint restores it exactly whatever order variables were created in.
 */
export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  step = 0;

  constructor(private readonly params: Record<string, tf.Variable>, private readonly options: AdamWOptions = DEFAULT_ADAMW) {
    for (const [name, p] of Object.entries(params)) {
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  /** One update with learning rate `lr`; `grads` maps parameter names to gradients (missing = no update). */
  apply(grads: Record<string, tf.Tensor>, lr: number): void {
    this.step += 1;
    const { beta1, beta2, epsilon, weightDecay } = this.options;
    const c1 = 1 - beta1 ** this.step;
    const c2 = 1 - beta2 ** this.step;
    const decays = this.options.decays ?? ((_: string, p: tf.Variable) => p.rank >= 2);
    tf.tidy(() => {
      for (const [name, p] of Object.entries(this.params)) {
        const g = grads[name];
        if (!g) continue;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), epsilon));
        const decayed = weightDecay > 0 && decays(name, p) ? tf.mul(p, 1 - lr * weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
      }
    });
  }

  /** Moments under "adam.m.<name>" / "adam.v.<name>" (the variables themselves, not copies). */
  state(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [name, t] of this.m) out[`adam.m.${name}`] = t;
    for (const [name, t] of this.v) out[`adam.v.${name}`] = t;
    return out;
  }

  /** Restores moments saved by state() and the step count. */
  load(named: Record<string, tf.Tensor>, step: number, source?: string): void {
    for (const [prefix, moments] of [['adam.m.', this.m], ['adam.v.', this.v]] as const) {
      for (const [name, variable] of moments) {
        const saved = named[prefix + name];
        if (!saved || saved.shape.join() !== variable.shape.join()) {
          throw new FileFormatError(source, `optimizer state "${prefix + name}": expected shape [${variable.shape}], found ${saved ? `[${saved.shape}]` : 'nothing'}`);
        }
        variable.assign(saved);
      }
    }
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
