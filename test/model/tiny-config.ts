import type { ViTConfig } from '../../src/model/config';

/** A very small CLIP-style config for fast tests: 8×8 images, patch 2 → 16 patches + [CLS]. */
export const TEST_VIT: ViTConfig = {
  imageSize: 8,
  patchSize: 2,
  channels: 3,
  width: 12,
  depth: 3,
  heads: 2,
  mlpWidth: 24,
  projectionDim: 6,
  layerNormEps: 1e-5,
};

/**
 * The backbone of the zoo, inversion, ablation, baseline and command tests: 8×8 images, patch 4 →
 * 4 patches + [CLS], projection 16. Small enough that a zoo tunes in a blink on the cpu backend.
 */
export const ZOO_TEST_VIT: ViTConfig = {
  imageSize: 8,
  patchSize: 4,
  channels: 3,
  width: 16,
  depth: 2,
  heads: 2,
  mlpWidth: 32,
  projectionDim: 16,
  layerNormEps: 1e-5,
};
