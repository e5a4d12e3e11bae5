import { flattenTree } from '../model/tensor-tree';
import { configFromSafetensors, treeFromSafetensors } from '../io/tensor-tree-file';
import { readSafetensors, writeSafetensors } from '../io/safetensors';
import { assetPath } from '../paths/package-root';
import { GlyphVae, type GlyphVaeConfig, validateGlyphVaeConfig } from './glyph-vae';

const FORMAT = 'lora-recycle/glyph-vae@1';

/** The glyph VAE shipped in the repository (trained by scripts/train-glyph-vae.ts). */
export const SHIPPED_GLYPH_VAE_FILE = ['glyph-vae', 'glyph-vae.safetensors'];

/** Saves a VAE: tensors named as in GlyphVaeWeights ("encoder.0.kernel", ...), config and notes in the metadata. Atomic. */
export function saveGlyphVae(path: string, vae: GlyphVae, notes: Record<string, unknown> = {}): void {
  writeSafetensors(path, flattenTree(vae.weights), { format: FORMAT, config: JSON.stringify(vae.config), notes: JSON.stringify(notes) });
}

/** Loads a VAE saved by saveGlyphVae; every tensor's shape is checked against the stored config. */
export function loadGlyphVae(path: string): GlyphVae {
  const file = readSafetensors(path);
  const config = configFromSafetensors<GlyphVaeConfig>(file, path, FORMAT, 'GlyphVaeConfig', validateGlyphVaeConfig);
  const template = GlyphVae.random(config, 0);
  try {
    return new GlyphVae(config, treeFromSafetensors(file, path, template.weights));
  } finally {
    template.dispose();
  }
}

/** The path of the shipped glyph VAE (assets/glyph-vae/glyph-vae.safetensors). */
export function shippedGlyphVaePath(): string {
  return assetPath(...SHIPPED_GLYPH_VAE_FILE);
}

/** The glyph VAE shipped with the package: its decoder is a generator for invertLora (`generator`). */
export function loadShippedGlyphVae(): GlyphVae {
  return loadGlyphVae(shippedGlyphVaePath());
}
