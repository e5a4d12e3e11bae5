import type { AdapterSite } from '../model/adapter-hook';
import type { ProjectionName } from '../model/weights';

/**
 * PEFT's tensor names for LoRA factors on a CLIP vision tower, e.g.
 * `base_model.model.vision_model.encoder.layers.3.self_attn.q_proj.lora_A.weight`.
 */

/** Our projection name → the HF module path inside a CLIP encoder layer. */
export const HF_MODULE: Record<ProjectionName, string> = {
  q: 'self_attn.q_proj',
  k: 'self_attn.k_proj',
  v: 'self_attn.v_proj',
  o: 'self_attn.out_proj',
  fc1: 'mlp.fc1',
  fc2: 'mlp.fc2',
};

/** PEFT's `target_modules` entry for each projection. */
export const HF_TARGET: Record<ProjectionName, string> = {
  q: 'q_proj',
  k: 'k_proj',
  v: 'v_proj',
  o: 'out_proj',
  fc1: 'fc1',
  fc2: 'fc2',
};

const MODULE_TO_PROJECTION = new Map(
  (Object.entries(HF_MODULE) as [ProjectionName, string][]).map(([projection, module]) => [module, projection]),
);

/** The Hugging Face CLIP model classes a PEFT adapter of a CLIP vision tower is applied to. */
export type HfClipClass = 'CLIPVisionModel' | 'CLIPVisionModelWithProjection' | 'CLIPModel';
export const HF_CLIP_CLASSES: readonly HfClipClass[] = ['CLIPVisionModel', 'CLIPVisionModelWithProjection', 'CLIPModel'];

/**
 * Where each class keeps the vision encoder in its module tree (transformers ≥ 5: a
 * CLIPVisionModel holds it at the top, the others under `vision_model.`). PEFT names its tensors
 * after these module paths, so an adapter loads only into the class it was named for.
 */
export const VISION_MODULE_PREFIX: Record<HfClipClass, string> = {
  CLIPVisionModel: '',
  CLIPVisionModelWithProjection: 'vision_model.',
  CLIPModel: 'vision_model.',
};

/** The module path of `site` inside the model (PEFT's target_modules entry), e.g. `vision_model.encoder.layers.3.self_attn.q_proj`. */
export function peftModuleName(site: AdapterSite, prefix = VISION_MODULE_PREFIX.CLIPVisionModelWithProjection): string {
  return `${prefix}encoder.layers.${site.layer}.${HF_MODULE[site.projection]}`;
}

/** The tensor name of one factor; `prefix` as in VISION_MODULE_PREFIX (default: CLIPVisionModelWithProjection's). */
export function peftFactorName(site: AdapterSite, factor: 'A' | 'B', prefix?: string): string {
  return `base_model.model.${peftModuleName(site, prefix)}.lora_${factor}.weight`;
}

/**
 * Parses a PEFT factor name; the `vision_model.` part is optional (PEFT on a CLIPVisionModel saved
 * without it). Null for any other name.
 */
export function parsePeftFactorName(name: string): { site: AdapterSite; factor: 'A' | 'B' } | null {
  const match =
    /^base_model\.model\.(?:vision_model\.)?encoder\.layers\.(\d+)\.(self_attn\.(?:q|k|v|out)_proj|mlp\.fc[12])\.lora_([AB])\.weight$/.exec(
      name,
    );
  if (!match) return null;
  return {
    site: { layer: Number(match[1]), projection: MODULE_TO_PROJECTION.get(match[2])! },
    factor: match[3] as 'A' | 'B',
  };
}
