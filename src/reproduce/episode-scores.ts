import type { EpisodeSource } from '../data/episodes';
import { ShapeError } from '../errors';
import { disposeEpisode } from '../evaluation';
import type { PipelineEpisodes } from './ports';

/**
 * Per-episode accuracies as counts of correctly classified queries: compact in a report's JSON
 * and exact, since every accuracy is correct / queries of its episode (a block keeps its
 * episodes' query counts once, each row its correct counts; the report's paired intervals
 * recompute from them).
 */
export function correctCounts(accuracies: readonly number[], queries: readonly number[]): number[] {
  if (accuracies.length > queries.length) throw new ShapeError(`${accuracies.length} accuracies for ${queries.length} episodes`);
  return accuracies.map((accuracy, i) => {
    const k = Math.round(accuracy * queries[i]);
    if (k / queries[i] !== accuracy) throw new ShapeError(`episode ${i}: accuracy ${accuracy} is not a count of its ${queries[i]} queries`);
    return k;
  });
}

/** The per-episode accuracies back, bit for bit: correct[i] / queries[i] for the episodes a row ran. */
export function accuraciesOf(correct: readonly number[], queries: readonly number[]): number[] {
  return correct.map((k, i) => k / queries[i]);
}

/** The number of query images of each episode of `source`: from its episode list where it has one, else by building each episode. */
export function queriesPerEpisode(source: PipelineEpisodes | EpisodeSource): number[] {
  const list = 'origin' in source ? source.origin?.list : undefined;
  if (list) return list.episodes.slice(0, source.count).map((e) => e.queriesPerClass.reduce((s, q) => s + q, 0));
  return Array.from({ length: source.count }, (_, i) => {
    const episode = source.episode(i);
    const count = episode.query.shape[0];
    disposeEpisode(episode);
    return count;
  });
}
