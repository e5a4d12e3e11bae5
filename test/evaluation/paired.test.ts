import { describe, expect, it } from 'vitest';
import { meanWithInterval, pairedDifference } from '../../src/evaluation';

describe('pairedDifference', () => {
  it("is the mean ± Student's t interval of the per-episode differences (hand computation)", () => {
    // differences: 0.2, 0.0, 0.4, −0.2 → mean 0.1; sample variance (0.1² + 0.1² + 0.3² + 0.3²) / 3 = 0.2 / 3;
    // t(0.975, 3) = 3.1824463 (tables), so ci = 3.1824463 · √(0.2 / 3) / √4 = 0.4108520
    const d = pairedDifference([0.8, 0.6, 1.0, 0.4], [0.6, 0.6, 0.6, 0.6]);
    expect(d.n).toBe(4);
    expect(d.mean).toBeCloseTo(0.1, 12);
    expect(d.ci95).toBeCloseTo(0.410852, 6);
  });

  it('is tighter than the unpaired intervals when episode difficulty is shared', () => {
    const hard = [0.2, 0.9, 0.4, 0.7, 0.3, 0.8];
    const better = hard.map((a) => a + 0.05);
    const d = pairedDifference(better, hard);
    expect(d.mean).toBeCloseTo(0.05, 12);
    expect(d.ci95).toBeCloseTo(0, 12);
    expect(meanWithInterval(hard).ci95).toBeGreaterThan(0.1);
  });

  it('pairs only the first n episodes when one method ran on fewer', () => {
    const d = pairedDifference([1, 0, 1], [0, 0, 0, 1, 1]);
    expect(d.n).toBe(3);
    expect(d.mean).toBeCloseTo(2 / 3, 12);
  });

  it('rejects a method without episodes', () => {
    expect(() => pairedDifference([], [0.5])).toThrow(/expected per-episode accuracies for both methods, found 0 and 1/);
  });
});
