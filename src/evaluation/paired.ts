import { ConfigError } from '../errors';
import { meanWithInterval, type MeanWithInterval } from './interval';

/**
 * Paired difference a − b of two methods' per-episode accuracies on the same episodes: mean of
 * the per-episode differences ± its 95 % interval. Tighter than comparing two unpaired intervals,
 * since episode difficulty cancels. When one method ran on fewer episodes (fine-tuning baselines
 * on the first n of the list), the pair uses those first n.
 */
export function pairedDifference(a: readonly number[], b: readonly number[]): MeanWithInterval {
  const n = Math.min(a.length, b.length);
  if (n === 0)
    throw new ConfigError(`pairedDifference: expected per-episode accuracies for both methods, found ${a.length} and ${b.length}`);
  return meanWithInterval(a.slice(0, n).map((value, i) => value - b[i]));
}
