export { backboneAccuracy, backboneClassifier, pretrainBackbone, randomPatchPositions } from './pretrain';
export type { PretrainOptions, PretrainResult } from './pretrain';
export {
  loadShippedBackbone,
  saveBackbone,
  shippedBackboneFile,
  SHIPPED_BACKBONE_FILE,
  SHIPPED_BACKBONES,
  type ShippedBackboneName,
} from './shipped';
export { concatLabelled, holdoutSplit, labelledImages } from './labelled-images';
export type { HoldoutSplit } from './labelled-images';
export { backboneFeatures, evaluateFrozenFeatures, featureTable, tableEpisodeSource } from './frozen-evaluation';
export type { FeatureTable } from './frozen-evaluation';
