import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';

/** x in the forward pass, zero gradient in the backward pass (tfjs has no stopGradient). */
const stopGradient = tf.customGrad((...inputs) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor2D) => tf.Tensor2D;

function expectSameShape(a: tf.Tensor, b: tf.Tensor, what: string): void {
  if (a.rank !== 2 || a.shape.join() !== b.shape.join()) {
    throw new ShapeError(`${what}: expected two [queries, ways] logit matrices of one shape, found [${a.shape}] and [${b.shape}]`);
  }
}

/**
 * Distillation loss of a single-LoRA episode (method.md §1.5):
 * mean over queries of KL(p_teacher ‖ p_student) = Σ_i p_t,i (log p_t,i − log p_s,i),
 * p_teacher = softmax of the teacher head's logits, p_student = softmax of −d(f(x), c_i).
 * teacherLogits, studentLogits: [Q, N]. The teacher is a constant (no gradient flows to it).
 */
export function distillationLoss(teacherLogits: tf.Tensor2D, studentLogits: tf.Tensor2D): tf.Scalar {
  expectSameShape(teacherLogits, studentLogits, 'distillationLoss');
  return tf.tidy(() => {
    const logTeacher = tf.logSoftmax(stopGradient(teacherLogits)); // [Q, N]
    const logStudent = tf.logSoftmax(studentLogits); // [Q, N]
    const perQuery = tf.sum(tf.mul(tf.exp(logTeacher), tf.sub(logTeacher, logStudent)), 1); // [Q]
    return tf.mean(perQuery) as tf.Scalar;
  });
}

/** Cross-entropy of a cross-task interpolated episode: mean_q −log softmax(logits_q)[y_q]. logits [Q, N], labels int32 [Q]. */
export function episodeCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  if (logits.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new ShapeError(`episodeCrossEntropy: expected logits [Q, N] and labels [Q], found [${logits.shape}] and [${labels.shape}]`);
  }
  return tf.tidy(() => {
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]); // [Q, N]
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}
