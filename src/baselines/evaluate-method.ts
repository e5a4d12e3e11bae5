import * as tf from '@tensorflow/tfjs';
import type { EpisodeSource } from '../data/episodes';
import { disposeEpisode, meanWithInterval, type MeanWithInterval } from '../evaluation';
import { CancelledError, ConfigError } from '../errors';
import type { RunControl } from '../progress/events';
import { METHOD_NAMES, METHODS, type MethodContext, type MethodName, type MethodOptions } from './methods';

export interface MethodResult extends MeanWithInterval {
  method: MethodName;
  accuracies: number[]; // per episode, in episode order
  seconds: number;
}


/**
 * Accuracy of method `name` on every episode of `episodes` (the same list for every method),
 * as mean ± 95 % interval. Emits one step event per episode; the AbortSignal stops between episodes.
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
  const accuracies: number[] = [];
  for (let i = 0; i < episodes.count; i++) {
    if (options.signal?.aborted) throw new CancelledError(`evaluation of ${name} stopped after ${i} of ${episodes.count} episodes (nothing to save)`);
    const episode = episodes.episode(i);
    try {
      // tidy: frees any intermediate tensor a method leaves behind (variables are the method's to dispose)
      tf.tidy(() => { accuracies.push(method(context, episode, { ...options, seed: (options.seed ?? 0) + i })); });
    } finally {
      disposeEpisode(episode);
    }
    const sofar = meanWithInterval(accuracies);
    options.onEvent?.({ kind: 'step', run: `evaluate ${name}`, step: i + 1, totalSteps: episodes.count, metrics: { accuracy: sofar.mean } });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { method: name as MethodName, ...meanWithInterval(accuracies), accuracies, seconds: (performance.now() - started) / 1000 };
}
