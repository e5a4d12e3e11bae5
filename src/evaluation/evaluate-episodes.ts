import * as tf from '@tensorflow/tfjs';
import type { EpisodeSource, EpisodeTensors } from '../data/episodes';
import { CancelledError } from '../errors';
import type { RunControl } from '../progress/events';
import { episodeAccuracy, type EpisodeAccuracyOptions, type FeatureFn } from './episode-accuracy';
import { meanWithInterval } from './interval';

export interface EvaluateOptions extends EpisodeAccuracyOptions, RunControl {
  run?: string; // name in progress events; default "evaluate"
}

export interface EvaluationResult {
  accuracies: number[]; // per episode, in episode order
  mean: number;
  ci95: number; // 1.96·std/√n
  episodes: number;
}

/**
 * Tuning-free prototype classification over every episode of `source` (method.md §1.6): one
 * forward pass per episode, mean accuracy ± 95 % interval. One step event per episode; the
 * AbortSignal stops between episodes (there is no state to save).
 */
export async function evaluateEpisodeSource(featureFn: FeatureFn, source: EpisodeSource, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const run = options.run ?? 'evaluate';
  const accuracies: number[] = [];
  for (let i = 0; i < source.count; i++) {
    if (options.signal?.aborted) throw new CancelledError(`${run} stopped after ${i} of ${source.count} episodes (nothing to save)`);
    const episode = source.episode(i);
    try {
      accuracies.push(episodeAccuracy(featureFn, episode, options));
    } finally {
      disposeEpisode(episode);
    }
    options.onEvent?.({ kind: 'step', run, step: i + 1, totalSteps: source.count, metrics: { accuracy: accuracies[i], meanAccuracy: meanWithInterval(accuracies).mean } });
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { mean, ci95 } = meanWithInterval(accuracies);
  return { accuracies, mean, ci95, episodes: accuracies.length };
}

/** Disposes an episode's tensors (images, and labels given as tensors). */
export function disposeEpisode(episode: EpisodeTensors): void {
  for (const value of Object.values(episode)) if (value instanceof tf.Tensor) value.dispose();
}
