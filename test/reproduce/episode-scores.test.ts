import { describe, expect, it } from 'vitest';
import { accuraciesOf, correctCounts } from '../../src/reproduce/episode-scores';

describe('per-episode correct counts', () => {
  it('round-trip accuracies exactly when episodes hold different numbers of queries', () => {
    // emoji classes contribute min(Q, images − K) queries, so episodes differ: 13 of 16, 20 of 25, 0 of 25
    const queries = [16, 25, 25];
    const accuracies = [13 / 16, 20 / 25, 0];
    const correct = correctCounts(accuracies, queries);
    expect(correct).toEqual([13, 20, 0]);
    expect(accuraciesOf(correct, queries)).toEqual(accuracies);
    // a row that ran on the first episodes only (fine-tuning baselines)
    expect(accuraciesOf(correctCounts([0.8125], queries), queries)).toEqual([0.8125]);
  });

  it("refuses an accuracy that is not a count of its episode's queries", () => {
    expect(() => correctCounts([0.8125], [25])).toThrow('episode 0: accuracy 0.8125 is not a count of its 25 queries');
    expect(() => correctCounts([0.5, 0.5], [2])).toThrow('2 accuracies for 1 episodes');
  });
});
