import * as fs from 'fs';
import * as path from 'path';
import { ConfigError, FileFormatError } from '../errors';
import type { ViTConfig } from '../model/config';
import { CLIP_MEAN, CLIP_STD } from '../model/preprocess';
import { previewJson } from './json-preview';
import { HF_CLIP_CLASSES, type HfClipClass } from './peft-names';
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
  /** Top-level fields (of the CLIPModel config for a CLIPModel): which model class saved the file. */
  architectures?: unknown;
  model_type?: unknown;
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
    return {
      ...fields,
      projection_dim: (json.projection_dim as number | undefined) ?? fields.projection_dim,
      architectures: json.architectures,
      model_type: json.model_type,
    };
  }
  return json as HfVisionConfigJson;
}

const CLIP_MODEL_TYPES = ['clip_vision_model', 'clip'];

/**
 * The transformers class config.json declares (`architectures[0]`; a CLIPModel config without it
 * counts as CLIPModel), null when it declares none. A model_type or class other than CLIP's
 * vision classes is a ConfigError naming the field.
 */
export function declaredClipClass(json: HfVisionConfigJson | null, where: string): HfClipClass | null {
  if (json === null) return null;
  if (json.model_type !== undefined && !CLIP_MODEL_TYPES.includes(json.model_type as string)) {
    throw new ConfigError(
      `${where}: model_type is ${previewJson(json.model_type)}; only CLIP vision towers can be read (model_type ${CLIP_MODEL_TYPES.map((t) => `"${t}"`).join(' or ')})`,
    );
  }
  if (json.architectures === undefined || json.architectures === null) return json.model_type === 'clip' ? 'CLIPModel' : null;
  const first = Array.isArray(json.architectures) ? json.architectures[0] : undefined;
  if (!HF_CLIP_CLASSES.includes(first as HfClipClass)) {
    throw new ConfigError(`${where}: architectures is ${previewJson(json.architectures)}; expected one of ${HF_CLIP_CLASSES.join(', ')}`);
  }
  return first as HfClipClass;
}

/**
 * Checks preprocessor_config.json beside a checkpoint, where present: images are normalised with
 * CLIP's mean and std (model/preprocess.ts), so other statistics are a ConfigError naming the field.
 */
export function checkHfPreprocessor(dir: string): void {
  const file = path.join(dir, 'preprocessor_config.json');
  if (!fs.existsSync(file)) return;
  const json = readJsonFile(file, 'not valid JSON') as Record<string, unknown> | null;
  if (typeof json !== 'object' || json === null) throw new FileFormatError(file, 'expected a JSON object');
  for (const [key, expected] of [
    ['image_mean', CLIP_MEAN],
    ['image_std', CLIP_STD],
  ] as const) {
    const found = json[key];
    if (found === undefined) continue;
    const same =
      Array.isArray(found) && found.length === 3 && found.every((v, c) => typeof v === 'number' && Math.abs(v - expected[c]) < 1e-6);
    if (!same) {
      throw new ConfigError(
        `${file}: ${key} is ${previewJson(found)}; this library normalises images with CLIP's ${key} [${expected.join(', ')}] only`,
      );
    }
  }
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
 * that config.json, where present, agrees with the tensors (projection_dim too when `projected`,
 * i.e. the weights hold a projection), and that the tower takes RGB images.
 */
export function completeConfig(
  derived: ShapeDerivedConfig,
  json: HfVisionConfigJson | null,
  options: { heads?: number; layerNormEps?: number; projected?: boolean },
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
    ['hidden_size', derived.width],
    ['intermediate_size', derived.mlpWidth],
    ['num_hidden_layers', derived.depth],
    ['num_channels', derived.channels],
    ['image_size', derived.imageSize],
    ['patch_size', derived.patchSize],
  ];
  if (options.projected) checks.push(['projection_dim', derived.projectionDim]);
  for (const [key, found] of checks) {
    const declared = json?.[key];
    if (declared !== undefined && declared !== found) {
      throw new ConfigError(`${where}: config.json says ${key} = ${declared}, the weights imply ${found}`);
    }
  }
  if (derived.channels !== 3) {
    throw new ConfigError(
      `${where}: num_channels is ${derived.channels} (the patch embedding's input), this library feeds RGB images (3 channels)`,
    );
  }
  return { ...derived, heads, layerNormEps: options.layerNormEps ?? json?.layer_norm_eps ?? 1e-5 };
}
