import * as tf from '@tensorflow/tfjs';
import { CompatibilityError } from '../errors';

/** Adam's state as plain data a checkpoint can hold, moments in the order of the variables. */
export interface AdamMoments {
  step: number; // updates done so far (t)
  first: Float32Array[]; // m, one per variable
  second: Float32Array[]; // v, one per variable
}

export interface AdamOptions {
  beta1?: number; // default 0.9
  beta2?: number; // default 0.999
  epsilon?: number; // default 1e-8
  /** λ of decoupled weight decay, p ← p − lr·λ·p before the Adam step (AdamW, Loshchilov & Hutter); default 0. */
  weightDecay?: number;
  /** Which variables get weight decay (default: matrices and higher, not biases, norms or rank-1 embeddings). */
  decays?: (name: string, variable: tf.Variable) => boolean;
}

/** AdamW as the supervised training of the backbone and the prior uses it. */
export const DEFAULT_ADAMW: AdamOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.05 };

/**
 * Adam (Kingma & Ba), with decoupled weight decay when `weightDecay` > 0 (AdamW), a learning rate
 * given at every step so a schedule drives it, and moments that can be read and restored exactly
 * (tf.train.adam hides its rate and state).
 *   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  θ ← θ·(1 − lr·λ) − lr · m̂ / (√v̂ + ε)
 * Variables come as a list or by name; names ("0", "1"... for a list) key the gradients of
 * `apply` and the moments of `state()`, so a checkpoint restores them whatever order
 * variables were created in.
 */
export class Adam {
  private readonly names: string[];
  private readonly variables: tf.Variable[];
  private readonly first: tf.Variable[];
  private readonly second: tf.Variable[];
  private t = 0;
  private readonly options: Required<Omit<AdamOptions, 'decays'>>;
  private readonly decays: boolean[];

  constructor(variables: tf.Variable[] | Record<string, tf.Variable>, options: AdamOptions = {}) {
    const entries = Array.isArray(variables) ? variables.map((v, i) => [String(i), v] as const) : Object.entries(variables);
    this.names = entries.map(([name]) => name);
    this.variables = entries.map(([, variable]) => variable);
    this.options = {
      beta1: options.beta1 ?? 0.9,
      beta2: options.beta2 ?? 0.999,
      epsilon: options.epsilon ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
    };
    const decays = options.decays ?? ((_: string, v: tf.Variable) => v.rank >= 2);
    this.decays = entries.map(([name, variable]) => this.options.weightDecay > 0 && decays(name, variable));
    const zeros = () => this.variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
    this.first = zeros();
    this.second = zeros();
  }

  /** Updates done so far; set it when moments were restored through `state()` (a checkpoint loaded into them). */
  get step(): number {
    return this.t;
  }

  set step(step: number) {
    this.t = step;
  }

  /**
   * One update with learning rate `learningRate`: `gradients[i]` for the i-th variable of a list,
   * or gradients by variable name (a missing one = no update). The caller disposes the gradients.
   */
  apply(gradients: tf.Tensor[] | Record<string, tf.Tensor | undefined>, learningRate: number): void {
    this.t += 1;
    const { beta1, beta2, epsilon, weightDecay } = this.options;
    const correction1 = 1 - beta1 ** this.t;
    const correction2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      this.variables.forEach((variable, i) => {
        const g = Array.isArray(gradients) ? gradients[i] : gradients[this.names[i]];
        if (!g) return;
        const m = tf.add(tf.mul(this.first[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.second[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.first[i].assign(m);
        this.second[i].assign(v);
        const update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), epsilon));
        const decayed = this.decays[i] ? tf.mul(variable, 1 - learningRate * weightDecay) : variable;
        variable.assign(tf.sub(decayed, tf.mul(update, learningRate)));
      });
    });
  }

  /** A copy of the moments. */
  moments(): AdamMoments {
    return {
      step: this.t,
      first: this.first.map((m) => m.dataSync() as Float32Array).map((a) => Float32Array.from(a)),
      second: this.second.map((v) => v.dataSync() as Float32Array).map((a) => Float32Array.from(a)),
    };
  }

  /** Restores moments written by `moments()`; sizes must match the variables. */
  restore(state: AdamMoments): void {
    if (state.first.length !== this.variables.length || state.second.length !== this.variables.length) {
      throw new CompatibilityError(`Adam state holds ${state.first.length} moments, the optimiser has ${this.variables.length} variables`);
    }
    this.variables.forEach((variable, i) => {
      for (const [name, values] of [
        ['first', state.first[i]],
        ['second', state.second[i]],
      ] as const) {
        if (values.length !== variable.size) {
          throw new CompatibilityError(`Adam ${name} moment ${i} has ${values.length} values, variable has ${variable.size}`);
        }
      }
      tf.tidy(() => {
        this.first[i].assign(tf.tensor(state.first[i], variable.shape));
        this.second[i].assign(tf.tensor(state.second[i], variable.shape));
      });
    });
    this.t = state.step;
  }

  /** The moments themselves (not copies) under "adam.m.<name>" / "adam.v.<name>", for a checkpoint to save or load into. */
  state(): Record<string, tf.Variable> {
    const out: Record<string, tf.Variable> = {};
    this.names.forEach((name, i) => {
      out[`adam.m.${name}`] = this.first[i];
    });
    this.names.forEach((name, i) => {
      out[`adam.v.${name}`] = this.second[i];
    });
    return out;
  }

  dispose(): void {
    [...this.first, ...this.second].forEach((v) => v.dispose());
  }
}
