import * as tf from '@tensorflow/tfjs';
import { CompatibilityError } from '../errors';

/** Adam's state for a list of variables, plain data a checkpoint can hold. */
export interface AdamMoments {
  step: number; // updates done so far (t)
  first: Float32Array[]; // m, one per variable
  second: Float32Array[]; // v, one per variable
}

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/**
 * Adam (Kingma & Ba) with a learning rate given at every step, so a schedule drives it, and
 * with moments that can be read and restored exactly (tf.train.adam hides its rate and state).
 *   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  θ ← θ − lr · m̂ / (√v̂ + ε)
 */
export class Adam {
  private readonly first: tf.Variable[];
  private readonly second: tf.Variable[];
  private t = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;

  constructor(readonly variables: tf.Variable[], options: AdamOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    const zeros = () => variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
    this.first = zeros();
    this.second = zeros();
  }

  get step(): number {
    return this.t;
  }

  /** One update with `gradients[i]` for `variables[i]` (the caller disposes the gradients). */
  apply(gradients: tf.Tensor[], learningRate: number): void {
    this.t += 1;
    const correction1 = 1 - this.beta1 ** this.t;
    const correction2 = 1 - this.beta2 ** this.t;
    tf.tidy(() => {
      this.variables.forEach((variable, i) => {
        const g = gradients[i];
        const m = tf.add(tf.mul(this.first[i], this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.second[i], this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.first[i].assign(m);
        this.second[i].assign(v);
        const update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), this.epsilon));
        variable.assign(tf.sub(variable, tf.mul(update, learningRate)));
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
      throw new CompatibilityError(
        `Adam state holds ${state.first.length} moments, the optimiser has ${this.variables.length} variables`,
      );
    }
    this.variables.forEach((variable, i) => {
      for (const [name, values] of [['first', state.first[i]], ['second', state.second[i]]] as const) {
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

  dispose(): void {
    [...this.first, ...this.second].forEach((v) => v.dispose());
  }
}
