import * as tf from '@tensorflow/tfjs';
import type { EpisodeSource, EpisodeTensors } from '../data/episodes';
import { forEachEpisode, mean, meanWithInterval, type MeanWithInterval } from '../evaluation';
import { ConfigError } from '../errors';
import type { RunControl } from '../progress/events';
import { METHOD_NAMES, METHODS, type MethodContext, type MethodName, type MethodOptions } from './methods';

export interface MethodResult extends MeanWithInterval {
  method: MethodName;
  accuracies: number[]; // per episode, in episode order
  seconds: number;
}

/**
 * Accuracy of method `name` on episode i of a list, for episodes `first`, `first` + 1, ... of it
 * given as 0, 1, ...: the episode is tuned with seed options.seed + first + i, so a block of a list
 * scores as the whole list does. Intermediate tensors are freed (tf.tidy).
 */
export function methodScorer(
  name: string,
  context: MethodContext,
  options: MethodOptions = {},
  first = 0,
): (episode: EpisodeTensors, i: number) => number {
  if (!(name in METHODS)) throw new ConfigError(`unknown method "${name}"; expected one of ${METHOD_NAMES.join(', ')}`);
  const method = METHODS[name as MethodName];
  const { distance, tuning, fullTuning, rank, cloraPairs, sadeWeight } = options;
  const settings: MethodOptions = { distance, tuning, fullTuning, rank, cloraPairs, sadeWeight };
  // tidy: frees any intermediate tensor a method leaves behind (variables are the method's to dispose)
  return (episode, i) => tf.tidy(() => method(context, episode, { ...settings, seed: (options.seed ?? 0) + first + i }));
}

/**
 * Accuracy of method `name` on every episode of `episodes` (the same list for every method),
 * as mean ± 95 % interval. One step event per episode; the AbortSignal stops between episodes (forEachEpisode).
 */
export async function evaluateMethod(
  name: string,
  context: MethodContext,
  episodes: EpisodeSource,
  options: MethodOptions & RunControl = {},
): Promise<MethodResult> {
  const score = methodScorer(name, context, options);
  const started = performance.now();
  const accuracies = await forEachEpisode(episodes, { ...options, run: `evaluate ${name}` }, score, (sofar) => ({ accuracy: mean(sofar) }));
  return { method: name as MethodName, ...meanWithInterval(accuracies), accuracies, seconds: (performance.now() - started) / 1000 };
}
