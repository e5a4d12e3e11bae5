import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors';
import { warmupCosineRate, type WarmupCosineSchedule } from '../../src/optim/schedule';

const PAPER: WarmupCosineSchedule = { minRate: 1e-5, maxRate: 1e-3, cycleSteps: 100, warmupSteps: 25 };
const rate = (step: number) => warmupCosineRate(step, PAPER);

describe('warmupCosineRate (100-step cycles, 25 of warm-up)', () => {
  it('warms up linearly from 1e-5 to 1e-3 over the first 25 steps', () => {
    expect(rate(0)).toBeCloseTo(1e-5, 12);
    expect(rate(10)).toBeCloseTo(1e-5 + (1e-3 - 1e-5) * 0.4, 12);
    expect(rate(25)).toBeCloseTo(1e-3, 12);
  });

  it('decays by a cosine to 1e-5 over the next 75 steps', () => {
    // halfway through the decay the cosine is at 0: the mean of the two rates
    expect(rate(25 + 37.5)).toBeCloseTo((1e-3 + 1e-5) / 2, 12);
    expect(rate(25 + 25)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.cos(Math.PI / 3)), 12);
    expect(rate(99)).toBeLessThan(1.1e-5 + 1e-6);
    for (let s = 26; s < 100; s++) expect(rate(s)).toBeLessThan(rate(s - 1));
  });

  it('restarts every 100 steps', () => {
    for (const s of [0, 7, 25, 60, 99]) {
      expect(rate(s + 100)).toBe(rate(s));
      expect(rate(s + 2300)).toBe(rate(s));
    }
  });

  it('rejects a warm-up that does not fit in the cycle', () => {
    expect(() => warmupCosineRate(0, { ...PAPER, warmupSteps: 100 })).toThrow(ConfigError);
    expect(() => warmupCosineRate(0, { ...PAPER, cycleSteps: 0 })).toThrow(ConfigError);
  });
});

describe('the step convention: the index is the number of updates done before this one', () => {
  const s = { minRate: 1e-5, maxRate: 1e-3, cycleSteps: 110, warmupSteps: 10 };

  it('starts a 0-based count (meta-training) at exactly minRate and reaches maxRate at index warmupSteps', () => {
    expect(warmupCosineRate(0, s)).toBe(1e-5);
    expect(warmupCosineRate(10, s)).toBeCloseTo(1e-3, 12);
    expect(warmupCosineRate(1, s)).toBeGreaterThan(1e-5);
  });

  it('gives a 1-based count (the supervised loop) its first update above minRate and its last, at cycleSteps, exactly at minRate', () => {
    expect(warmupCosineRate(1, s)).toBeCloseTo(1e-5 + (1e-3 - 1e-5) / 10, 12);
    expect(warmupCosineRate(5, s)).toBeCloseTo(1e-5 + (1e-3 - 1e-5) / 2, 10);
    expect(warmupCosineRate(60, s)).toBeCloseTo((1e-3 + 1e-5) / 2, 10);
    expect(warmupCosineRate(110, s)).toBe(1e-5);
  });

  it('without warm-up starts the decay at once and still ends the cycle at minRate', () => {
    const noWarmup = { ...s, warmupSteps: 0 };
    expect(warmupCosineRate(1, noWarmup)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.cos(Math.PI / 110)), 12);
    expect(warmupCosineRate(110, noWarmup)).toBe(1e-5);
    expect(warmupCosineRate(0, noWarmup)).toBe(1e-5);
  });
});
