export { Adam, DEFAULT_ADAMW } from './adam';
export type { AdamMoments, AdamOptions } from './adam';
export { warmupCosineRate } from './schedule';
export type { WarmupCosineSchedule } from './schedule';
