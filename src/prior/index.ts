export { PRIOR_CNN, PriorCnn, batchNormStatistics, validatePriorConfig, validatePriorWeights } from './prior-cnn';
export type { BatchNormWeights, PriorBlockWeights, PriorCnnConfig, PriorCnnWeights, PriorForward } from './prior-cnn';
export { bnPriorLoss } from './bn-prior-loss';
export { GLYPH_VAE, GlyphVae, vaeLoss, validateGlyphVaeConfig, validateGlyphVaeWeights } from './glyph-vae';
export type { GlyphVaeConfig, GlyphVaeWeights, LatentGenerator } from './glyph-vae';
export { loadGlyphVae, loadShippedGlyphVae, saveGlyphVae, SHIPPED_GLYPH_VAE_FILE, shippedGlyphVaePath } from './glyph-vae-file';
export { conv3x3 } from '../ops';
export { loadPrior, loadPriorCnn, loadShippedPrior, savePrior, SHIPPED_PRIOR_FILE } from './prior-file';
export type { BatchNormStatistics, ImagePrior } from './image-prior';
export { DEFAULT_PRIOR_RESOLUTION, EFFICIENTNET_LITE0, EfficientNetLite0, efficientNetShapes, mbConvBlocks } from './efficientnet-lite0';
export type {
  ConvBatchNorm,
  EfficientNetForward,
  EfficientNetPriorOptions,
  EfficientNetWeights,
  MbConvBlock,
  MbConvStage,
  MbConvWeights,
} from './efficientnet-lite0';
export { EFFICIENTNET_CONVERT_COMMAND, EFFICIENTNET_PRIOR_FORMAT, efficientNetPriorPath, loadEfficientNetPrior } from './efficientnet-file';
export { bilinearMatrix, resizeBilinear } from './bilinear-resize';
export { depthwiseConvSame, samePadding } from './depthwise-conv';
export { BATCH_NORM_MOMENTUM, priorAccuracy, priorAsClassifier, trainPrior } from './train-prior';
export type { PriorTrainingOptions } from './train-prior';
