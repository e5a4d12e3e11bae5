import { type ViTConfig, validateViTConfig } from '../model/config';
import { randomViTWeights } from '../model/init';
import { flattenTree, treeTensors } from '../model/tensor-tree';
import { validateViTWeights } from '../model/validate-weights';
import type { ViTWeights } from '../model/weights';
import { hfClipFromContents, type LoadedVisionTower, resolveWeightsFile, weightsFileFor } from './hf-clip';
import { readSafetensors, writeSafetensors } from './safetensors';
import { configFromSafetensors, treeFromSafetensors } from './tensor-tree-file';

/**
 * The project's own file of a vision tower, for towers CLIP's layout cannot hold (a conv stem,
 * ViTConfig.convStem): tensors named as in ViTWeights ("stem.0.kernel", "blocks.0.q.kernel", ...),
 * the ViTConfig in the metadata. One self-contained safetensors file.
 */
const VIT_FORMAT = 'lora-recycle/vit@1';

/** Writes `weights` as a lora-recycle/vit@1 file at `target` (a .safetensors path, or a directory: model.safetensors in it). Atomic. */
export function saveVitFile(target: string, config: ViTConfig, weights: ViTWeights): void {
  validateViTConfig(config);
  validateViTWeights(config, weights);
  writeSafetensors(weightsFileFor(target), flattenTree(weights), { format: VIT_FORMAT, config: JSON.stringify(config) });
}

/**
 * A vision tower from `target` (a .safetensors file or a directory holding model.safetensors):
 * a lora-recycle/vit@1 file (saveVitFile), else a Hugging Face CLIP checkpoint (loadHfClipVision),
 * read once either way.
 * Every tensor's shape is checked against the stored configuration. The caller owns the tensors.
 */
export function loadVisionTower(target: string): LoadedVisionTower {
  const file = resolveWeightsFile(target);
  const contents = readSafetensors(file);
  if (contents.metadata.format !== VIT_FORMAT) return hfClipFromContents(file, contents);
  const config = configFromSafetensors<ViTConfig>(contents, file, VIT_FORMAT, 'ViTConfig', validateViTConfig);
  const template = randomViTWeights(config, 0);
  try {
    return { config, weights: treeFromSafetensors(contents, file, template) };
  } finally {
    for (const t of treeTensors(template)) t.dispose();
  }
}
