import * as tf from '@tensorflow/tfjs';
import type { EpisodeSource, EpisodeTensors } from '../data/episodes';
import type { RunControl } from '../progress/events';
import { runSteps } from '../progress/run-steps';
import { episodeAccuracy, type EpisodeAccuracyOptions, type FeatureFn } from './episode-accuracy';
import { mean, meanWithInterval } from './interval';

export interface EvaluateOptions extends EpisodeAccuracyOptions, RunControl {
  run?: string; // name in progress events; default "evaluate"
}

export interface EvaluationResult {
  accuracies: number[]; // per episode, in episode order
  mean: number;
  ci95: number | null; // Student's t interval (meanWithInterval); null for one episode
  episodes: number;
}

/**
 * Tuning-free prototype classification over every episode of `source` (method.md §1.6): one
 * forward pass per episode, mean accuracy ± 95 % interval. One step event per episode; the
 * AbortSignal stops between episodes (forEachEpisode: CancelledError, there is no state to save).
 */
export async function evaluateEpisodeSource(
  featureFn: FeatureFn,
  source: EpisodeSource,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const accuracies = await forEachEpisode(
    source,
    { ...options, run: options.run ?? 'evaluate' },
    (episode) => episodeAccuracy(featureFn, episode, options),
    (sofar) => ({ accuracy: sofar[sofar.length - 1], meanAccuracy: mean(sofar) }),
  );
  const summary = meanWithInterval(accuracies);
  return { accuracies, mean: summary.mean, ci95: summary.ci95, episodes: accuracies.length };
}

/**
 * `score` of every episode of `source`, in episode order, through runSteps (one step event per
 * episode with `metrics` of the scores so far; the one stop policy). Each episode is built on
 * demand and disposed after use.
 */
export async function forEachEpisode<T>(
  source: EpisodeSource,
  control: RunControl & { run: string },
  score: (episode: EpisodeTensors, index: number) => T,
  metrics: (sofar: readonly T[]) => Record<string, number> = () => ({}),
): Promise<T[]> {
  const scores: T[] = [];
  await runSteps({ run: control.run, onEvent: control.onEvent, signal: control.signal, total: source.count, unit: 'episodes' }, (step) => {
    const episode = source.episode(step - 1);
    try {
      scores.push(score(episode, step - 1));
    } finally {
      disposeEpisode(episode);
    }
    return metrics(scores);
  });
  return scores;
}

/** Disposes an episode's tensors (images, and labels given as tensors). */
export function disposeEpisode(episode: EpisodeTensors): void {
  for (const value of Object.values(episode)) if (value instanceof tf.Tensor) value.dispose();
}
