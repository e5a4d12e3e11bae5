export { PRIOR_CNN, PriorCnn, batchNormStatistics, validatePriorConfig, validatePriorWeights } from './prior-cnn';
export type { BatchNormStatistics, BatchNormWeights, PriorBlockWeights, PriorCnnConfig, PriorCnnWeights, PriorForward } from './prior-cnn';
export { bnPriorLoss } from './bn-prior-loss';
export { conv3x3 } from './conv3x3';
export { loadPrior, loadShippedPrior, savePrior, SHIPPED_PRIOR_FILE } from './prior-file';
export { BATCH_NORM_MOMENTUM, priorAccuracy, priorAsClassifier, trainPrior } from './train-prior';
export type { PriorTrainingOptions } from './train-prior';
