import { ShapeError } from '../errors';

/**
 * A row's per-episode accuracies as counts of correctly classified queries, `queries` per episode:
 * compact in a report's JSON and exact, since every accuracy is correct / queries (the paired
 * intervals of a report are recomputed from these).
 */
export interface EpisodeScores {
  queries: number;
  correct: number[];
}

/** `accuracies` as counts of `queries`; a value that is not exactly k / queries is an error. */
export function toEpisodeScores(accuracies: readonly number[], queries: number): EpisodeScores {
  const correct = accuracies.map((accuracy, i) => {
    const k = Math.round(accuracy * queries);
    if (k / queries !== accuracy) throw new ShapeError(`episode ${i}: accuracy ${accuracy} is not a count of ${queries} queries`);
    return k;
  });
  return { queries, correct };
}

/** The per-episode accuracies back: correct / queries, bit for bit what was recorded. */
export function accuraciesOf(scores: EpisodeScores): number[] {
  return scores.correct.map((k) => k / scores.queries);
}
