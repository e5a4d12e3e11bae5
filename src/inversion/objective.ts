import * as tf from '@tensorflow/tfjs';
import type { Teacher } from '../surrogate/set';
import type { PruningSchedule } from '../model/token-pruning';
import type { VisionTransformer } from '../model/vision-transformer';
import { bnPriorLoss } from '../prior/bn-prior-loss';
import type { ImagePrior } from '../prior/image-prior';
import { withinClassSimilarity } from './diversity';
import { inkAmount, l2Prior, totalVariation } from './image-priors';

export interface ObjectiveWeights {
  prior: number; // on R_BN; 0 or no prior CNN: the term is not computed
  tv: number; // 0: not computed
  l2: number; // 0: not computed
  diversity: number; // on R_div; 0: not computed
  unadapted: number; // on CE(head(f(x)), y) with the LoRA left out; 0: not computed
  ink: number; // on the mean ink of the images; 0: not computed
}

/** The terms of one iteration's loss, as scalars inside the caller's tidy. */
export interface ObjectiveTerms {
  total: tf.Scalar;
  crossEntropy: tf.Scalar; // CE(head(f_LoRA(x)), y), mean over the batch
  prior: tf.Scalar | null; // R_BN(x), unweighted; null when not computed
  tv: tf.Scalar | null; // unweighted; null when not computed
  l2: tf.Scalar | null; // idem
  diversity: tf.Scalar | null; // R_div(x), unweighted; idem
  unadapted: tf.Scalar | null; // CE(head(f(x)), y) of the backbone without the LoRA, unweighted; idem
  ink: tf.Scalar | null; // mean ink 1 − grey, unweighted; idem
  confidence: tf.Scalar; // mean p(y | x) of the teacher on this batch
  patchTokens: number; // patch tokens that reached the last layer
}

/**
 * loss = CE(head(f_LoRA(x)), y) + w_BN · R_BN(x) + w_TV · TV(x) + w_L2 · L2(x) + w_div · R_div(f_LoRA(x))
 *        + w_0 · CE(head(f(x)), y) + w_ink · ink(x)
 * (method.md §1.3; the last two terms are not in the paper: w_0 asks the backbone without the LoRA to see the class
 * too, w_ink makes ink cost something),
 * with the teacher's forward pruned by `pruning` (§1.4). x [B, H, W, C] normalised (jittered);
 * targets int32 [B]. Differentiable w.r.t. x; call inside tf.tidy / tf.variableGrads.
 */
export function inversionObjective(
  backbone: VisionTransformer,
  teacher: Teacher,
  prior: ImagePrior | null,
  x: tf.Tensor4D,
  targets: tf.Tensor1D,
  weights: ObjectiveWeights,
  pruning: PruningSchedule,
): ObjectiveTerms {
  const { features, keptPatches } = backbone.forward(x, { adapter: teacher.adapter, pruning });
  const logits = teacher.head.apply(features); // [B, N]
  const targetLogProbs = targetLogProbabilities(logits, targets);
  const crossEntropy = tf.neg(tf.mean(targetLogProbs)) as tf.Scalar;
  const unadapted =
    weights.unadapted > 0
      ? (tf.neg(tf.mean(targetLogProbabilities(teacher.head.apply(backbone.forward(x, { pruning }).features), targets))) as tf.Scalar)
      : null;
  const priorTerm = prior && weights.prior > 0 ? bnPriorLoss(x, prior) : null;
  const tv = weights.tv > 0 ? totalVariation(x) : null;
  const l2 = weights.l2 > 0 ? l2Prior(x) : null;
  const ink = weights.ink > 0 ? inkAmount(x) : null;
  const diversity = weights.diversity > 0 ? withinClassSimilarity(features, targets, logits.shape[1]) : null;
  const weighted: tf.Tensor[] = [crossEntropy];
  if (priorTerm) weighted.push(tf.mul(priorTerm, weights.prior));
  if (tv) weighted.push(tf.mul(tv, weights.tv));
  if (l2) weighted.push(tf.mul(l2, weights.l2));
  if (diversity) weighted.push(tf.mul(diversity, weights.diversity));
  if (unadapted) weighted.push(tf.mul(unadapted, weights.unadapted));
  if (ink) weighted.push(tf.mul(ink, weights.ink));
  return {
    total: tf.addN(weighted) as tf.Scalar,
    crossEntropy,
    prior: priorTerm,
    tv,
    l2,
    diversity,
    unadapted,
    ink,
    confidence: tf.mean(tf.exp(targetLogProbs)) as tf.Scalar,
    patchTokens: keptPatches.shape[1],
  };
}

/** log p(y_i | x_i) of logits [B, N] for int32 targets [B]. */
function targetLogProbabilities(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(targets, logits.shape[1])), 1);
}
