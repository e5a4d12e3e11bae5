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
