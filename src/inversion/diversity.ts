import * as tf from '@tensorflow/tfjs';

/**
 * R_div: the mean cosine similarity of the teacher's features over pairs of different images with
 * the same target, sim(z_i, z_j) = z_i·z_j / (‖z_i‖‖z_j‖) for y_i = y_j, i ≠ j. Minimising it spreads
 * each class's surrogates apart in feature space while the cross-entropy keeps them in their class
 * (a within-class repulsion; method.md §1.3). features [B, D]; targets int32 [B]. 0 when no class
 * has two images.
 */
export function withinClassSimilarity(features: tf.Tensor2D, targets: tf.Tensor1D, ways: number): tf.Scalar {
  return tf.tidy(() => {
    const unit = tf.div(features, tf.add(tf.norm(features, 'euclidean', 1, true), 1e-12));
    const similarity = tf.matMul(unit, unit, false, true); // [B, B]
    const onehot = tf.oneHot(targets, ways).toFloat();
    const sameClass = tf.sub(tf.matMul(onehot, onehot, false, true), tf.eye(targets.shape[0])); // y_i = y_j, i ≠ j
    const pairs = tf.sum(sameClass);
    return tf.div(tf.sum(tf.mul(similarity, sameClass)), tf.maximum(pairs, 1)) as tf.Scalar;
  });
}
