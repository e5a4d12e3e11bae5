import { ConfigError } from '../errors';

export interface CosineSchedule {
  peak: number; // learning rate after warm-up
  floor: number; // learning rate at the last step
  warmupSteps: number; // linear warm-up from floor to peak
  totalSteps: number;
}

/** Learning rate at 1-based `step`: linear warm-up, then one cosine decay from peak to floor. */
export function cosineLearningRate(step: number, s: CosineSchedule): number {
  if (!(s.totalSteps > 0) || s.warmupSteps < 0 || s.warmupSteps >= s.totalSteps) {
    throw new ConfigError(`cosine schedule: need 0 ≤ warmupSteps < totalSteps, found ${s.warmupSteps} and ${s.totalSteps}`);
  }
  if (step <= s.warmupSteps) return s.floor + ((s.peak - s.floor) * step) / s.warmupSteps;
  const progress = (step - s.warmupSteps) / (s.totalSteps - s.warmupSteps); // (0, 1]
  return s.floor + 0.5 * (s.peak - s.floor) * (1 + Math.cos(Math.PI * Math.min(1, progress)));
}
