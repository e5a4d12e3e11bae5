import type { WarmupCosineSchedule } from '../optim/schedule';

/**
 * The meta-training learning-rate schedule of LoRA Recycle (method.md §1.5): cycles of 100 steps,
 * each a linear warm-up from 1e-5 to 1e-3 over 25 steps, then a cosine decay back to 1e-5 over
 * the other 75; the cycle then restarts. meta-train indexes it by its 0-based step.
 */
export const PAPER_SCHEDULE: WarmupCosineSchedule = { minRate: 1e-5, maxRate: 1e-3, cycleSteps: 100, warmupSteps: 25 };
