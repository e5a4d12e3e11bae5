import { describe, expect, it } from 'vitest';
import { metaLearningRate } from '../../src/meta/schedule';

describe('metaLearningRate (100-step warm restart)', () => {
  it('warms up linearly from 1e-5 to 1e-3 over the first 25 steps', () => {
    expect(metaLearningRate(0)).toBeCloseTo(1e-5, 12);
    expect(metaLearningRate(10)).toBeCloseTo(1e-5 + (1e-3 - 1e-5) * 0.4, 12);
    expect(metaLearningRate(25)).toBeCloseTo(1e-3, 12);
  });

  it('decays by a cosine to 1e-5 over the next 75 steps', () => {
    // halfway through the decay the cosine is at 0: the mean of the two rates
    expect(metaLearningRate(25 + 37.5)).toBeCloseTo((1e-3 + 1e-5) / 2, 12);
    expect(metaLearningRate(25 + 25)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.cos(Math.PI / 3)), 12);
    expect(metaLearningRate(99)).toBeLessThan(1.1e-5 + 1e-6);
    for (let s = 26; s < 100; s++) expect(metaLearningRate(s)).toBeLessThan(metaLearningRate(s - 1));
  });

  it('restarts every 100 steps', () => {
    for (const s of [0, 7, 25, 60, 99]) {
      expect(metaLearningRate(s + 100)).toBe(metaLearningRate(s));
      expect(metaLearningRate(s + 2300)).toBe(metaLearningRate(s));
    }
  });
});
