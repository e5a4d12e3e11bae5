import { loadHfClipVision, saveHfClipVision } from '../io';
import { VisionTransformer } from '../model/vision-transformer';
import { assetPath } from '../paths/package-root';

/** The backbone shipped in the repository (trained by scripts/train-backbone.ts), HF CLIP layout. */
export const SHIPPED_BACKBONE_FILE = ['backbone', 'tiny-vit.safetensors'];

/**
 * The shipped tiny ViT (assets/backbone/tiny-vit.safetensors + config.json, the layout of
 * HF `CLIPVisionModelWithProjection`, so a real CLIP checkpoint loads the same way).
 * The caller owns it (dispose()).
 */
export function loadShippedBackbone(): VisionTransformer {
  const { config, weights } = loadHfClipVision(assetPath(...SHIPPED_BACKBONE_FILE));
  return new VisionTransformer(config, weights);
}

/** Writes a backbone in the shipped layout (model file + config.json beside it). */
export function saveBackbone(path: string, backbone: VisionTransformer): void {
  saveHfClipVision(path, backbone.config, backbone.weights);
}
