import { ConfigError } from '../errors';

/**
 * Linear warm-up, then cosine decay, in cycles of `cycleSteps` steps (warm restarts): from
 * `minRate` up to `maxRate` over `warmupSteps`, a cosine back down to `minRate` at the end of the
 * cycle, where the next warm-up starts. A run of T steps without restart is one cycle of T.
 */
export interface WarmupCosineSchedule {
  minRate: number; // where each cycle starts and ends
  maxRate: number; // at the end of the warm-up
  cycleSteps: number;
  warmupSteps: number; // 0 ≤ warmupSteps < cycleSteps
}

/**
 * Learning rate at step index `step` = the number of updates done before this one (0 for the
 * first). Periodic with period cycleSteps: at every multiple of it (0 included) the rate is
 * `minRate`; it rises linearly to `maxRate` at index `warmupSteps` (with no warm-up the decay
 * starts at once, just below `maxRate`), then falls by a cosine to `minRate` at the next multiple.
 * A caller counting updates from 1 that passes its count gets the rate one index ahead: its first
 * update is above `minRate` and its last, at cycleSteps, reaches it (the supervised loop). Pure.
 */
export function warmupCosineRate(step: number, schedule: WarmupCosineSchedule): number {
  const { minRate, maxRate, cycleSteps, warmupSteps } = schedule;
  if (!(cycleSteps > 0) || !(warmupSteps >= 0) || warmupSteps >= cycleSteps) {
    throw new ConfigError(`warm-up cosine schedule: need 0 ≤ warmupSteps < cycleSteps, found ${warmupSteps} and ${cycleSteps}`);
  }
  const t = step % cycleSteps || cycleSteps; // position in the cycle, in (0, cycleSteps]: a multiple is the end of one
  if (t < warmupSteps) return minRate + ((maxRate - minRate) * t) / warmupSteps;
  const progress = (t - warmupSteps) / (cycleSteps - warmupSteps); // 0 at the peak, 1 at the end of the cycle
  return minRate + 0.5 * (maxRate - minRate) * (1 + Math.cos(Math.PI * progress));
}
