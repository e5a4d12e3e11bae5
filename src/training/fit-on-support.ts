import * as tf from '@tensorflow/tfjs';
import { Adam } from '../optim/adam';

/** How a fine-tuning baseline trains on an episode's support set. */
export interface SupportTuning {
  steps: number; // full-batch Adam steps on the N·K support images
  learningRate: number;
}

/**
 * Minimises mean cross-entropy of `logitsOf(support)` against `labels` over `variables`
 * (plus `regularizer()` when given, e.g. CLoRA's SADE), with full-batch Adam at a constant rate.
 * support [N·K, H, W, C], labels [N·K]. Leaves no tensors behind except the updated variables.
 * `onStep(step, loss)` (1-based) receives each step's training loss (read back only when given).
 * `batchOf(support)`, when given, makes each step's batch from the support images outside the
 * gradient tape (augmented or adversarial copies, method.md §1.1); by default the batch is `support`.
 */
export function fitOnSupport(
  variables: tf.Variable[],
  logitsOf: (images: tf.Tensor4D) => tf.Tensor2D,
  support: tf.Tensor4D,
  labels: readonly number[],
  tuning: SupportTuning,
  regularizer?: () => tf.Scalar | null,
  onStep?: (step: number, loss: number) => void,
  batchOf?: (support: tf.Tensor4D) => tf.Tensor4D,
): void {
  const adam = new Adam(variables);
  try {
    for (let step = 0; step < tuning.steps; step++) {
      tf.tidy(() => {
        const batch = batchOf ? batchOf(support) : support;
        const { value, grads } = tf.variableGrads(() => {
          const logits = logitsOf(batch); // [N·K, N]
          const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([...labels], 'int32'), logits.shape[1]), logits);
          const extra = regularizer?.();
          return (extra ? tf.add(loss, extra) : loss) as tf.Scalar;
        }, variables);
        adam.apply(
          variables.map((v) => grads[v.name]),
          tuning.learningRate,
        );
        if (onStep) onStep(step + 1, value.dataSync()[0]);
      });
    }
  } finally {
    adam.dispose();
  }
}
