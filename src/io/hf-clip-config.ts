import * as fs from 'fs';
import * as path from 'path';
import { ConfigError, FileFormatError } from '../errors';
import type { ViTConfig } from '../model/config';
import { readJsonFile } from './read-json';

/** The fields of HF `CLIPVisionConfig` this project reads and writes (config.json). */
export interface HfVisionConfigJson {
  hidden_size?: number;
  intermediate_size?: number;
  num_hidden_layers?: number;
  num_attention_heads?: number;
  num_channels?: number;
  image_size?: number;
  patch_size?: number;
  projection_dim?: number;
  layer_norm_eps?: number;
  hidden_act?: string;
}

/**
 * Reads `config.json` next to a checkpoint, if present. For a `CLIPModel` the vision part sits
 * under `vision_config` (its `projection_dim` at the top level). Returns null without a file.
 */
export function readHfVisionConfig(dir: string): HfVisionConfigJson | null {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) return null;
  const json = readJsonFile(file, 'not valid JSON') as Record<string, unknown>;
  if (typeof json !== 'object' || json === null) throw new FileFormatError(file, 'expected a JSON object');
  const vision = json.vision_config;
  if (typeof vision === 'object' && vision !== null) {
    // A CLIPModel's visual projection is sized by the top-level projection_dim.
    const fields = vision as HfVisionConfigJson;
    return { ...fields, projection_dim: (json.projection_dim as number | undefined) ?? fields.projection_dim };
  }
  return json as HfVisionConfigJson;
}

/** HF config.json of a `CLIPVisionModelWithProjection` with our configuration. */
export function hfVisionConfigJson(config: ViTConfig): Record<string, unknown> {
  return {
    architectures: ['CLIPVisionModelWithProjection'],
    model_type: 'clip_vision_model',
    hidden_act: 'quick_gelu',
    hidden_size: config.width,
    image_size: config.imageSize,
    intermediate_size: config.mlpWidth,
    layer_norm_eps: config.layerNormEps,
    num_attention_heads: config.heads,
    num_channels: config.channels,
    num_hidden_layers: config.depth,
    patch_size: config.patchSize,
    projection_dim: config.projectionDim,
    attention_dropout: 0,
    dtype: 'float32',
  };
}

/** Sizes read off the tensors of a checkpoint (everything except heads and ε). */
export type ShapeDerivedConfig = Omit<ViTConfig, 'heads' | 'layerNormEps'>;

/**
 * Completes the shape-derived sizes with heads and ε (options first, then config.json) and checks
 * that config.json, where present, agrees with the tensors.
 */
export function completeConfig(
  derived: ShapeDerivedConfig,
  json: HfVisionConfigJson | null,
  options: { heads?: number; layerNormEps?: number },
  where: string,
): ViTConfig {
  const heads = options.heads ?? json?.num_attention_heads;
  if (heads === undefined) {
    throw new ConfigError(
      `${where}: the number of attention heads cannot be read from the weights; put config.json ` +
      '(with num_attention_heads) next to model.safetensors or pass options.heads',
    );
  }
  if (json?.hidden_act !== undefined && json.hidden_act !== 'quick_gelu') {
    throw new ConfigError(`${where}: hidden_act is "${json.hidden_act}", this ViT implements only "quick_gelu" (as CLIP)`);
  }
  const checks: [keyof HfVisionConfigJson, number][] = [
    ['hidden_size', derived.width], ['intermediate_size', derived.mlpWidth],
    ['num_hidden_layers', derived.depth], ['num_channels', derived.channels],
    ['image_size', derived.imageSize], ['patch_size', derived.patchSize],
  ];
  for (const [key, found] of checks) {
    const declared = json?.[key];
    if (declared !== undefined && declared !== found) {
      throw new ConfigError(`${where}: config.json says ${key} = ${declared}, the weights imply ${found}`);
    }
  }
  return { ...derived, heads, layerNormEps: options.layerNormEps ?? json?.layer_norm_eps ?? 1e-5 };
}
