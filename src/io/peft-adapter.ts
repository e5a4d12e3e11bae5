import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { CompatibilityError, ConfigError, FileFormatError, MissingResourceError } from '../errors';
import type { ViTConfig } from '../model/config';
import { writeJsonAtomic } from './atomic-write';
import { previewJson } from './json-preview';
import { factorsFromPeftTensors } from './lora-factors';
import { type LoraRecord, saveLoraFile } from './lora-file';
import { HF_CLIP_CLASSES, type HfClipClass, peftModuleName, VISION_MODULE_PREFIX } from './peft-names';
import { type PeftHead, readPeftHead, writePeftHead } from './peft-head';
import { readSafetensors } from './safetensors';
import { readJsonFile } from './read-json';

/** The adapter_config.json fields that decide how a PEFT LoRA is applied. */
interface PeftLoraConfig {
  peft_type?: string;
  r?: number;
  lora_alpha?: number;
  use_rslora?: boolean;
  use_dora?: boolean;
  lora_bias?: boolean;
  bias?: string;
  rank_pattern?: Record<string, number>;
  alpha_pattern?: Record<string, number>;
  target_modules?: string[] | string | null;
  base_model_name_or_path?: string | null;
}

function readAdapterConfig(file: string): PeftLoraConfig {
  if (!fs.existsSync(file))
    throw new MissingResourceError(
      `${file}: no such file (a PEFT adapter directory holds adapter_config.json and adapter_model.safetensors)`,
    );
  const json = readJsonFile(file, 'not valid JSON');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new FileFormatError(file, 'expected a JSON object');
  return json as PeftLoraConfig;
}

/** Rejects PEFT features this LoRA implementation does not reproduce. */
function checkSupported(file: string, config: PeftLoraConfig): { r: number; alpha: number } {
  if (config.peft_type !== undefined && config.peft_type !== 'LORA')
    throw new CompatibilityError(`${file}: peft_type is ${config.peft_type}, only LORA adapters can be read`);
  if (config.use_dora) throw new CompatibilityError(`${file}: DoRA adapters (use_dora: true) are not supported`);
  if (config.lora_bias || (config.bias !== undefined && config.bias !== 'none'))
    throw new CompatibilityError(`${file}: adapters with trained biases (bias/lora_bias) are not supported`);
  if (Object.keys(config.rank_pattern ?? {}).length > 0 || Object.keys(config.alpha_pattern ?? {}).length > 0) {
    throw new CompatibilityError(`${file}: per-module rank_pattern / alpha_pattern are not supported (one rank and alpha per adapter)`);
  }
  const { r, lora_alpha: alpha } = config;
  if (!Number.isInteger(r) || (r as number) <= 0)
    throw new FileFormatError(file, `"r" must be a positive integer, found ${previewJson(r)}`);
  if (typeof alpha !== 'number' || !Number.isFinite(alpha))
    throw new FileFormatError(file, `"lora_alpha" must be a number, found ${previewJson(alpha)}`);
  return { r: r as number, alpha };
}

/**
 * Reads a PEFT LoRA saved by `save_pretrained` (peft 0.21): `adapter_config.json` and
 * `adapter_model.safetensors` in `dir`. ΔW = scale · A·B with scale = lora_alpha / r, or
 * lora_alpha / √r when use_rslora. Factors of a CLIPModel's text tower are ignored. With
 * `backboneConfig`, every factor (and the head) is checked against the backbone. The task head
 * and class names come from head.safetensors and classes.json beside them, where present
 * (peft-head.ts); PEFT itself saves none.
 */
export function loadPeftAdapter(dir: string, backboneConfig?: ViTConfig): LoraRecord {
  const configFile = path.join(dir, 'adapter_config.json');
  const peft = readAdapterConfig(configFile);
  const { r, alpha } = checkSupported(configFile, peft);
  const weightsFile = path.join(dir, 'adapter_model.safetensors');
  if (!fs.existsSync(weightsFile)) {
    const legacy = fs.existsSync(path.join(dir, 'adapter_model.bin'));
    throw new MissingResourceError(
      `${weightsFile}: no such file${legacy ? ' (only the pickle adapter_model.bin exists; re-save with safe_serialization=True)' : ''}`,
    );
  }
  const { tensors } = readSafetensors(weightsFile);
  const isTextTower = (name: string) => name.startsWith('base_model.model.text_model.');
  const { rank, factors } = factorsFromPeftTensors(tensors, weightsFile, backboneConfig, isTextTower);
  const parameters = { rank, scale: peft.use_rslora ? alpha / Math.sqrt(r) : alpha / r, factors };
  let head: PeftHead;
  try {
    if (rank !== r) throw new FileFormatError(weightsFile, `adapter_config.json says r = ${r} but the factors have rank ${rank}`);
    head = readPeftHead(dir, backboneConfig);
  } catch (error) {
    tf.dispose(factors.flatMap((f) => [f.a, f.b]));
    throw error;
  }
  return {
    parameters,
    head: head.head,
    classIds: head.classIds,
    metadata: {
      source: 'peft',
      peftDir: dir,
      loraAlpha: alpha,
      useRslora: Boolean(peft.use_rslora),
      targetModules: peft.target_modules ?? null,
      baseModel: peft.base_model_name_or_path ?? null,
    },
  };
}

export interface PeftSaveOptions {
  /** The transformers class the adapter is for (default CLIPVisionModelWithProjection): it decides the module paths. */
  baseModel?: HfClipClass;
  /** adapter_config.json's base_model_name_or_path (default null): where AutoPeftModel finds the backbone. */
  baseModelPath?: string | null;
}

/**
 * Writes `record` as a PEFT adapter directory (adapter_config.json + adapter_model.safetensors)
 * that `PeftModel.from_pretrained(<options.baseModel>, dir)` loads (transformers ≥ 5): tensors and
 * target_modules name the exact module paths of the record's sites in that class, and scale is
 * expressed as lora_alpha = scale · r. A head, where the record has one, goes to head.safetensors
 * and its class names to classes.json (peft-head.ts), which PEFT ignores and loadPeftAdapter reads.
 */
export function savePeftAdapter(dir: string, record: LoraRecord, options: PeftSaveOptions = {}): void {
  const { rank, scale, factors } = record.parameters;
  const prefix = VISION_MODULE_PREFIX[options.baseModel ?? 'CLIPVisionModelWithProjection'];
  if (prefix === undefined)
    throw new ConfigError(
      `savePeftAdapter: baseModel must be one of ${HF_CLIP_CLASSES.join(', ')}, found ${previewJson(options.baseModel)}`,
    );
  if (record.head) writePeftHead(dir, record.head, record.classIds);
  saveLoraFile(path.join(dir, 'adapter_model.safetensors'), { ...record, head: undefined, classIds: [] }, { modulePrefix: prefix });
  writeJsonAtomic(path.join(dir, 'adapter_config.json'), {
    peft_type: 'LORA',
    task_type: null,
    r: rank,
    lora_alpha: scale * rank,
    lora_dropout: 0,
    target_modules: [...new Set(factors.map((f) => peftModuleName(f.site, prefix)))],
    layers_to_transform: null,
    bias: 'none',
    use_rslora: false,
    use_dora: false,
    fan_in_fan_out: false,
    init_lora_weights: true,
    rank_pattern: {},
    alpha_pattern: {},
    inference_mode: true,
    base_model_name_or_path: options.baseModelPath ?? null,
  });
}
