export { DISTANCE_EPSILON, prototypeLogits, prototypes } from './prototypes';
export type { PrototypeDistance } from './prototypes';
export { meanWithInterval } from './interval';
export type { MeanWithInterval } from './interval';
export { episodeAccuracy, featuresInBatches, labelsAsArray } from './episode-accuracy';
export type { EpisodeAccuracyOptions, EpisodeTensors, FeatureFn } from './episode-accuracy';
export { disposeEpisode, evaluateEpisodeSource } from './evaluate-episodes';
export type { EpisodeSource, EvaluateOptions, EvaluationResult } from './evaluate-episodes';
export { rawPixelFeatures } from './raw-pixels';
