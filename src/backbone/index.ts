export { backboneAccuracy, backboneClassifier, pretrainBackbone } from './pretrain';
export type { PretrainOptions, PretrainResult } from './pretrain';
export { loadShippedBackbone, saveBackbone, SHIPPED_BACKBONE_FILE } from './shipped';
export { concatLabelled, holdoutSplit, labelledImages } from './labelled-images';
export type { HoldoutSplit } from './labelled-images';
export { backboneFeatures, evaluateFrozenFeatures, featureTable, tableEpisodeSource } from './frozen-evaluation';
export type { FeatureTable } from './frozen-evaluation';
