import { describe, expect, it } from 'vitest';
import {
  excludesZero,
  formatPercent,
  formatPoints,
  meanWithInterval,
  pairedDifference,
  pairedVerdict,
  studentTCdf,
  studentTQuantile,
} from '../../src/evaluation';

describe("Student's t", () => {
  it('has the closed-form CDFs of 1 and 2 degrees of freedom', () => {
    // df 1 is the Cauchy distribution: F(t) = ½ + atan(t)/π; df 2: F(t) = ½ + t / (2·√(2 + t²))
    for (const t of [-3, -1, 0, 0.5, 1, 4]) {
      expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 12);
      expect(studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(2 + t * t)), 12);
    }
  });

  it('gives the tabulated 97.5 % quantiles, tending to 1.96', () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.7062047, 6);
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.3026527, 6); // closed form for df 2: (2p − 1)·√(2 / (4p(1 − p))) = 0.95 · √(2 / 0.0975)
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.7764451, 6);
    expect(studentTQuantile(0.975, 9)).toBeCloseTo(2.2621572, 6);
    expect(studentTQuantile(0.975, 29)).toBeCloseTo(2.0452296, 6);
    expect(studentTQuantile(0.975, 599)).toBeGreaterThan(1.96);
    expect(studentTQuantile(0.975, 599)).toBeLessThan(1.965);
    expect(() => studentTQuantile(0.4, 3)).toThrow(/p must be in/);
    expect(() => studentTQuantile(0.975, 0)).toThrow(/degrees of freedom/);
  });
});

describe('meanWithInterval', () => {
  it('is the t interval with the n − 1 variance (hand computation at n = 5)', () => {
    // mean 0.6; s² = (0.16 + 0.04 + 0 + 0.04 + 0.16) / 4 = 0.1; ci = t(0.975, 4) · √0.1 / √5 = 2.7764451 · 0.1414214 = 0.3926486
    const r = meanWithInterval([0.2, 0.4, 0.6, 0.8, 1.0]);
    expect(r.mean).toBeCloseTo(0.6, 12);
    expect(r.ci95).toBeCloseTo(0.3926486, 6);
    expect(r.n).toBe(5);
    // the old rule, 1.96 · √(0.08) / √5 = 0.2479, is 1.58 times narrower
    expect(r.ci95! / 0.247921).toBeCloseTo(1.5838, 3);
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(0.95 * Math.sqrt(2 / 0.0975), 9);
  });

  it('gives one value no interval', () => {
    expect(meanWithInterval([0.7])).toEqual({ mean: 0.7, ci95: null, n: 1 });
    expect(() => meanWithInterval([])).toThrow(/at least one value/);
  });

  it('gives identical values a zero-width interval', () => {
    expect(meanWithInterval([0.5, 0.5, 0.5]).ci95).toBe(0);
  });
});

describe('paired verdicts', () => {
  it('reads better, worse and no detectable difference from the paired interval alone', () => {
    // a beats b on every episode by 0.1 ± a little: better, though unpaired intervals would overlap widely
    const b = [0.2, 0.9, 0.4, 0.7, 0.5, 0.3];
    const a = b.map((x, i) => x + 0.1 + (i % 2 === 0 ? 0.01 : -0.01));
    const d = pairedDifference(a, b);
    expect(excludesZero(d)).toBe(true);
    expect(pairedVerdict(d)).toBe('better');
    expect(pairedVerdict(pairedDifference(b, a))).toBe('worse');
    expect(pairedVerdict(pairedDifference([0.5, 0.6, 0.4], [0.5, 0.5, 0.5]))).toBe('no detectable difference');
    expect(pairedVerdict(pairedDifference([0.9], [0.1]))).toBe('no interval');
    expect(excludesZero(pairedDifference([0.9], [0.1]))).toBe(false);
  });

  it('formats intervals in points and percent, and says when there is none', () => {
    expect(formatPoints({ mean: 0.0123, ci95: 0.0045 })).toBe('+1.23 ± 0.45');
    expect(formatPoints({ mean: -0.0026, ci95: 0.0017 })).toBe('-0.26 ± 0.17');
    expect(formatPoints({ mean: 0.8, ci95: null })).toBe('+80.00 (n = 1, no interval)');
    expect(formatPercent({ mean: 0.452, ci95: 0.011 })).toBe('45.20 ± 1.10');
    expect(formatPercent({ mean: 0.452, ci95: null })).toBe('45.20 (n = 1)');
  });
});
