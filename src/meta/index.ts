export { metaTrain } from './meta-train';
export type { FeatureModel } from './feature-model';
export type { MetaTrainOptions, MetaTrainResult } from './meta-train';
export { PAPER_SCHEDULE } from './schedule';
export { distillationLoss, episodeCrossEntropy } from './losses';
export { loadMetaCheckpoint, META_CHECKPOINT_FORMAT, metaLoraLayout, saveMetaCheckpoint } from './checkpoint';
export type { BestSoFar, MetaCheckpoint, MetaLoraLayout, MetaTrainStep, MetaValidation } from './checkpoint';
export { loadCheckpointLora } from './checkpoint-lora';
export type { CheckpointLoraChoice } from './checkpoint-lora';
export {
  episodeImages,
  flipPatchIndex,
  imagesByClass,
  interpolatedEpisode,
  singleLoraEpisode,
} from './surrogate-episodes';
export type { EpisodeShape, ImageRef, SurrogateEpisode } from './surrogate-episodes';
