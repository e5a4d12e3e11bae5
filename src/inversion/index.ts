/** LoRA inversion with token pruning (method.md §1.3–1.4): surrogate images from a pre-tuned LoRA. */
export { invertLora } from './invert-lora';
export type { InversionOptions } from './options';
export { InversionResult } from './result';
export type { InversionResultData, InversionStep } from './result';
export type { InversionSnapshot } from './snapshot';
export { inversionGalleryBundle } from './gallery';
export type { InversionGalleryInput } from './gallery';
export { patchMasks } from './masks';
export { inkAmount, l2Prior, totalVariation } from './image-priors';
export { withinClassSimilarity } from './diversity';
export { applyJitter, applyJitters, drawJitter, MAX_JITTER_COPIES } from './jitter';
export type { Jitter } from './jitter';
