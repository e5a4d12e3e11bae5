export { classifierAccuracy, DEFAULT_SUPERVISED, trainSupervised } from './supervised';
export type { LabelledImages, StepContext, SupervisedOptions, SupervisedResult, TrainableClassifier } from './supervised';
export { augmentPixels, DEFAULT_AUGMENT } from './augment';
export type { AugmentOptions } from './augment';
export { fitOnSupport } from './fit-on-support';
export type { SupportTuning } from './fit-on-support';
