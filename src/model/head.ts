import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';
import { linear } from '../ops';

/** A task head Linear(D → N) with bias (each pre-tuned LoRA owns one; method.md §1.1). */
export class LinearHead {
  private constructor(
    readonly weight: tf.Variable<tf.Rank.R2>, // [D, N]
    readonly bias: tf.Variable<tf.Rank.R1>, // [N]
  ) {}

  /** PyTorch nn.Linear initialisation: U(−1/√D, 1/√D) for weight and bias. */
  static create(inDim: number, classes: number, seed = 0): LinearHead {
    const bound = 1 / Math.sqrt(inDim);
    return new LinearHead(
      tf.tidy(() => tf.variable(tf.randomUniform([inDim, classes], -bound, bound, 'float32', seed))),
      tf.tidy(() => tf.variable(tf.randomUniform([classes], -bound, bound, 'float32', seed + 1))),
    );
  }

  /**
   * The nearest-mean classifier (NN) as a head, for `features` [B, D] with labels [B] in
   * 0..classes−1 (every class present): with class means μ_c, logits_c(f) = (2f·μ_c − ‖μ_c‖²) / v
   * = −‖f − μ_c‖² / v + const(f), v the mean of ‖f_i − f̄‖² over the features (f̄ their mean), so
   * that the logits differ by about one unit and the training loss keeps a gradient (a Gaussian
   * posterior's 2σ² per dimension would make it vanish). Tuning then starts where NN stands instead
   * of at chance. Trainable.
   */
  static fromPrototypes(features: tf.Tensor2D, labels: readonly number[], classes: number): LinearHead {
    if (features.rank !== 2 || labels.length !== features.shape[0]) {
      throw new ShapeError(`LinearHead.fromPrototypes: expected features [${labels.length}, D], found [${features.shape}]`);
    }
    const missing = Array.from({ length: classes }, (_, c) => c).filter((c) => !labels.includes(c));
    if (missing.length > 0) throw new ShapeError(`LinearHead.fromPrototypes: classes ${missing.join(', ')} have no features`);
    const { weight, bias } = tf.tidy(() => {
      const oneHot = tf.oneHot(tf.tensor1d([...labels], 'int32'), classes).toFloat(); // [B, N]
      const means = tf.div(tf.matMul(oneHot, features, true, false), tf.sum(oneHot, 0).expandDims(1)); // [N, D]
      const spread = tf.sum(tf.square(tf.sub(features, tf.mean(features, 0, true)))); // Σ‖f_i − f̄‖²
      const inverseV = tf.div(1, tf.maximum(tf.div(spread, features.shape[0]), 1e-12));
      return {
        weight: tf.mul(tf.mul(means, 2), inverseV).transpose() as tf.Tensor2D, // [D, N]
        bias: tf.mul(tf.neg(tf.sum(tf.square(means), 1)), inverseV) as tf.Tensor1D, // [N]
      };
    });
    const head = new LinearHead(tf.variable(weight), tf.variable(bias));
    tf.dispose([weight, bias]);
    return head;
  }

  /** Copies `weight` [D, N] and `bias` [N]; frozen unless `trainable`. */
  static fromTensors(weight: tf.Tensor2D, bias: tf.Tensor1D, trainable = false): LinearHead {
    if (weight.rank !== 2 || bias.rank !== 1 || bias.shape[0] !== weight.shape[1]) {
      throw new ShapeError(`LinearHead: expected weight [D, N] and bias [N], found [${weight.shape}] and [${bias.shape}]`);
    }
    return new LinearHead(tf.variable(weight, trainable), tf.variable(bias, trainable));
  }

  get inDim(): number {
    return this.weight.shape[0];
  }

  get classes(): number {
    return this.weight.shape[1];
  }

  /** features [B, D] → logits [B, N]. */
  apply(features: tf.Tensor2D): tf.Tensor2D {
    if (features.rank !== 2 || features.shape[1] !== this.inDim) {
      throw new ShapeError(`LinearHead.apply: expected features [B, ${this.inDim}], found [${features.shape}]`);
    }
    return linear(features, this.weight, this.bias);
  }

  trainableVariables(): tf.Variable[] {
    return [this.weight, this.bias].filter((v) => v.trainable);
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}
