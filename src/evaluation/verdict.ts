import type { MeanWithInterval } from './interval';

/** What the verdicts and formats read of an interval. */
type Interval = Pick<MeanWithInterval, 'mean' | 'ci95'>;

/** What a paired difference a − b says, read from its 95 % interval alone. */
export type PairedVerdict = 'better' | 'worse' | 'no detectable difference' | 'no interval';

/** Whether the 95 % interval of `d` excludes 0 (never, for n = 1, which has no interval). */
export function excludesZero(d: Interval): boolean {
  return d.ci95 !== null && Math.abs(d.mean) > d.ci95;
}

/** "better" or "worse" where the paired interval excludes 0, else "no detectable difference"; n = 1: "no interval". */
export function pairedVerdict(d: Interval): PairedVerdict {
  if (d.ci95 === null) return 'no interval';
  if (!excludesZero(d)) return 'no detectable difference';
  return d.mean > 0 ? 'better' : 'worse';
}

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

/** A difference of fractions in points, without the unit: "+1.23 ± 0.45", or "+1.23 (n = 1, no interval)". */
export function formatPoints(d: Interval): string {
  return d.ci95 === null ? `${signed(100 * d.mean)} (n = 1, no interval)` : `${signed(100 * d.mean)} ± ${(100 * d.ci95).toFixed(2)}`;
}

/** An accuracy in percent: "45.20 ± 1.10", or "45.20 (n = 1)". */
export function formatPercent(d: Interval): string {
  return d.ci95 === null ? `${(100 * d.mean).toFixed(2)} (n = 1)` : `${(100 * d.mean).toFixed(2)} ± ${(100 * d.ci95).toFixed(2)}`;
}
