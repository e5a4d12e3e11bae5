/**
 * The meta-training learning-rate schedule of LoRA Recycle (method.md §1.5): cycles of
 * `cycleSteps` steps, each a linear warm-up from `minRate` to `maxRate` over `warmupSteps`,
 * then a cosine decay back to `minRate` over the rest of the cycle; the cycle then restarts.
 */
export interface WarmRestartSchedule {
  minRate: number; // 1e-5
  maxRate: number; // 1e-3
  cycleSteps: number; // 100
  warmupSteps: number; // 25
}

export const PAPER_SCHEDULE: WarmRestartSchedule = { minRate: 1e-5, maxRate: 1e-3, cycleSteps: 100, warmupSteps: 25 };

/** Learning rate of the 0-based optimisation step `step`. Pure. */
export function metaLearningRate(step: number, schedule: WarmRestartSchedule = PAPER_SCHEDULE): number {
  const { minRate, maxRate, cycleSteps, warmupSteps } = schedule;
  const t = step % cycleSteps; // position inside the current cycle
  if (t < warmupSteps) return minRate + ((maxRate - minRate) * t) / warmupSteps;
  const decaySteps = cycleSteps - warmupSteps;
  const progress = (t - warmupSteps) / decaySteps; // 0 at the peak, → 1 at the restart
  return minRate + 0.5 * (maxRate - minRate) * (1 + Math.cos(Math.PI * progress));
}
