export { evaluateMethod, methodScorer } from './evaluate-method';
export type { MethodResult } from './evaluate-method';
export { METHODS, METHOD_NAMES, TUNING_FREE_METHODS } from './methods';
export type { EpisodeMethod, MethodContext, MethodName, MethodOptions } from './methods';
