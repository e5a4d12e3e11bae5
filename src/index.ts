/**
 * lora-recycle: recycle pre-tuned LoRAs into tuning-free few-shot learners.
 * The public API, one line per area of the method (folders mirror method.md).
 */
export * from './errors';
export * from './paths';
export * from './optim';
export * from './training';
export * from './model';
export * from './adapters';
export * from './progress/events';
export * as ops from './ops';
export * from './backend';
export * from './display';
export * from './io';
export * from './data';
export * from './zoo';
export * from './evaluation';
export * from './meta';
export * from './baselines';
export * from './random';
export * from './surrogate';
export * from './inversion';
export * from './backbone';
export * from './prior';
export * from './reproduce';
export * from './parallel';
