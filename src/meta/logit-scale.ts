import * as tf from '@tensorflow/tfjs';
import type { Adapter } from '../model/adapter-hook';
import { prototypeLogits, prototypes, type PrototypeDistance } from '../evaluation';
import { SeededRandom } from '../random/seeded-random';
import type { FeatureModel } from './feature-model';
import { episodeImages, imagesByClass, interpolatedEpisode, singleLoraEpisode, type EpisodeShape } from './surrogate-episodes';
import type { SurrogateSet } from '../surrogate/set';

/** Candidate scales s of softmax(−s·d): 10^−3 … 10^1 in 41 log steps. */
export const LOGIT_SCALE_GRID: readonly number[] = Array.from({ length: 41 }, (_, i) => 10 ** (-3 + i / 10));

/** Mean cross-entropy of softmax(scale · logits) with `labels`, rows of `logits` being −d to each prototype. */
export function scaledCrossEntropy(logits: readonly (readonly number[])[], labels: readonly number[], scale: number): number {
  let total = 0;
  logits.forEach((row, i) => {
    const scaled = row.map((v) => scale * v);
    const max = Math.max(...scaled);
    const logSum = max + Math.log(scaled.reduce((s, v) => s + Math.exp(v - max), 0));
    total += logSum - scaled[labels[i]];
  });
  return total / logits.length;
}

/**
 * The temperature of the prototype softmax, set on the training images themselves before
 * meta-training: the s of LOGIT_SCALE_GRID minimising the cross-entropy of softmax(−s·d) with the
 * episode labels over `episodes` episodes drawn as meta-training draws them (alternately single-LoRA
 * and cross-task), on the student as it starts. It sees neither validation nor meta-test data.
 * Raw feature distances can make the softmax far too sharp for a rank-4 LoRA to recover from
 * (a prototype cross-entropy above that of uniform guessing); this puts the losses in range.
 */
export function calibrateLogitScale(
  model: FeatureModel,
  adapter: Adapter,
  sets: readonly SurrogateSet[],
  shape: EpisodeShape,
  patchGrid: number,
  distance: PrototypeDistance,
  seed: number,
  episodes = 16,
): number {
  const random = new SeededRandom(seed);
  const byClass = sets.map((set, i) => imagesByClass(set, i, shape));
  const imageIds = sets.map((set) => set.imageIds);
  const logits: number[][] = [];
  const labels: number[] = [];
  for (let e = 0; e < episodes; e++) {
    const episode =
      e % 2 === 0
        ? singleLoraEpisode(byClass, random.int(sets.length), shape, (n, count) => random.sample(n, count))
        : interpolatedEpisode(byClass, shape, (n, count) => random.sample(n, count), imageIds);
    const refs = [...episode.support, ...episode.query];
    const batch = episodeImages(
      sets,
      refs,
      refs.map(() => false),
      patchGrid,
    );
    const rows = tf.tidy(() => {
      const features = model.forward(batch.images, { adapter, patchPositions: batch.positions ?? undefined }).features;
      const support = episode.support.length;
      const protos = prototypes(tf.slice(features, [0, 0], [support, -1]), episode.supportLabels, episode.ways);
      return prototypeLogits(tf.slice(features, [support, 0], [episode.query.length, -1]), protos, distance).arraySync() as number[][];
    });
    batch.images.dispose();
    batch.positions?.dispose();
    logits.push(...rows);
    labels.push(...episode.queryLabels);
  }
  let best = LOGIT_SCALE_GRID[0];
  let bestLoss = Infinity;
  for (const scale of LOGIT_SCALE_GRID) {
    const loss = scaledCrossEntropy(logits, labels, scale);
    if (loss < bestLoss) {
      best = scale;
      bestLoss = loss;
    }
  }
  return best;
}
