import * as tf from '@tensorflow/tfjs';
import type { EpisodeSource } from '../data/episodes';
import { forEachEpisode, meanWithInterval, type MeanWithInterval } from '../evaluation';
import { ConfigError } from '../errors';
import type { RunControl } from '../progress/events';
import { METHOD_NAMES, METHODS, type MethodContext, type MethodName, type MethodOptions } from './methods';

export interface MethodResult extends MeanWithInterval {
  method: MethodName;
  accuracies: number[]; // per episode, in episode order
  seconds: number;
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
  if (!(name in METHODS)) throw new ConfigError(`unknown method "${name}"; expected one of ${METHOD_NAMES.join(', ')}`);
  const method = METHODS[name as MethodName];
  const started = performance.now();
  const accuracies = await forEachEpisode(episodes, { ...options, run: `evaluate ${name}` },
    // tidy: frees any intermediate tensor a method leaves behind (variables are the method's to dispose)
    (episode, i) => tf.tidy(() => method(context, episode, { ...options, seed: (options.seed ?? 0) + i })),
    (sofar) => ({ accuracy: meanWithInterval(sofar).mean }));
  return { method: name as MethodName, ...meanWithInterval(accuracies), accuracies, seconds: (performance.now() - started) / 1000 };
}
