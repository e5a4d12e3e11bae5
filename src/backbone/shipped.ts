import { loadVisionTower, saveHfClipVision, saveVitFile } from '../io';
import { VisionTransformer } from '../model/vision-transformer';
import { assetPath } from '../paths/package-root';

/** The backbone shipped in the repository (trained by scripts/train-backbone.ts), HF CLIP layout. */
export const SHIPPED_BACKBONE_FILE = ['backbone', 'tiny-vit.safetensors'];

/**
 * The backbones shipped in the repository, each trained by scripts/train-backbone.ts (its
 * training-record.json beside it says on what): 'default' on emoji pretrain classes and glyph
 * base classes; 'emoji-only' on the emoji pretrain classes alone (domain A of docs/method.md §0:
 * no glyph of any script, so domain B's scripts are new to it).
 */
export const SHIPPED_BACKBONES = {
  default: SHIPPED_BACKBONE_FILE,
  'emoji-only': ['backbone-emoji-only', 'tiny-vit.safetensors'],
} as const;
export type ShippedBackboneName = keyof typeof SHIPPED_BACKBONES;

/** The file of shipped backbone `name`. */
export function shippedBackboneFile(name: ShippedBackboneName = 'default'): string {
  return assetPath(...SHIPPED_BACKBONES[name]);
}

/**
 * A shipped tiny ViT (assets/backbone/tiny-vit.safetensors + config.json, the layout of
 * HF `CLIPVisionModelWithProjection`, so a real CLIP checkpoint loads the same way; a conv-stem
 * ViT in the project's own file, src/io/vit-file.ts). The caller owns it (dispose()).
 */
export function loadShippedBackbone(name: ShippedBackboneName = 'default'): VisionTransformer {
  const { config, weights } = loadVisionTower(shippedBackboneFile(name));
  return new VisionTransformer(config, weights);
}

/**
 * Writes a backbone in the shipped layout: HF CLIP (model file + config.json beside it), or, for a
 * conv-stem ViT, which CLIP's layout cannot hold, the project's lora-recycle/vit@1 file.
 */
export function saveBackbone(path: string, backbone: VisionTransformer): void {
  if (backbone.config.convStem) saveVitFile(path, backbone.config, backbone.weights);
  else saveHfClipVision(path, backbone.config, backbone.weights);
}
