import * as fs from 'fs';
import * as path from 'path';
import { CompatibilityError, FileFormatError, MissingResourceError } from '../errors';
import type { ViTConfig } from '../model/config';
import { writeJsonAtomic } from './atomic-write';
import { previewJson } from './json-preview';
import { factorsFromPeftTensors } from './lora-factors';
import { type LoraRecord, saveLoraFile } from './lora-file';
import { HF_TARGET } from './peft-names';
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
  if (!fs.existsSync(file)) throw new MissingResourceError(`${file}: no such file (a PEFT adapter directory holds adapter_config.json and adapter_model.safetensors)`);
  const json = readJsonFile(file, 'not valid JSON');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new FileFormatError(file, 'expected a JSON object');
  return json as PeftLoraConfig;
}

/** Rejects PEFT features this LoRA implementation does not reproduce. */
function checkSupported(file: string, config: PeftLoraConfig): { r: number; alpha: number } {
  if (config.peft_type !== undefined && config.peft_type !== 'LORA') throw new CompatibilityError(`${file}: peft_type is ${config.peft_type}, only LORA adapters can be read`);
  if (config.use_dora) throw new CompatibilityError(`${file}: DoRA adapters (use_dora: true) are not supported`);
  if (config.lora_bias || (config.bias !== undefined && config.bias !== 'none')) throw new CompatibilityError(`${file}: adapters with trained biases (bias/lora_bias) are not supported`);
  if (Object.keys(config.rank_pattern ?? {}).length > 0 || Object.keys(config.alpha_pattern ?? {}).length > 0) {
    throw new CompatibilityError(`${file}: per-module rank_pattern / alpha_pattern are not supported (one rank and alpha per adapter)`);
  }
  const { r, lora_alpha: alpha } = config;
  if (!Number.isInteger(r) || (r as number) <= 0) throw new FileFormatError(file, `"r" must be a positive integer, found ${previewJson(r)}`);
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new FileFormatError(file, `"lora_alpha" must be a number, found ${previewJson(alpha)}`);
  return { r: r as number, alpha };
}

/**
 * Reads a PEFT LoRA saved by `save_pretrained` (peft 0.21): `adapter_config.json` and
 * `adapter_model.safetensors` in `dir`. ΔW = scale · A·B with scale = lora_alpha / r, or
 * lora_alpha / √r when use_rslora. Factors of a CLIPModel's text tower are ignored. With
 * `backboneConfig`, every factor is checked against the backbone. No head, no class ids.
 */
export function loadPeftAdapter(dir: string, backboneConfig?: ViTConfig): LoraRecord {
  const configFile = path.join(dir, 'adapter_config.json');
  const peft = readAdapterConfig(configFile);
  const { r, alpha } = checkSupported(configFile, peft);
  const weightsFile = path.join(dir, 'adapter_model.safetensors');
  if (!fs.existsSync(weightsFile)) {
    const legacy = fs.existsSync(path.join(dir, 'adapter_model.bin'));
    throw new MissingResourceError(`${weightsFile}: no such file${legacy ? ' (only the pickle adapter_model.bin exists; re-save with safe_serialization=True)' : ''}`);
  }
  const { tensors } = readSafetensors(weightsFile);
  const isTextTower = (name: string) => name.startsWith('base_model.model.text_model.');
  const { rank, factors } = factorsFromPeftTensors(tensors, weightsFile, backboneConfig, isTextTower);
  if (rank !== r) {
    throw new FileFormatError(weightsFile, `adapter_config.json says r = ${r} but the factors have rank ${rank}`);
  }
  const scale = peft.use_rslora ? alpha / Math.sqrt(r) : alpha / r;
  return {
    parameters: { rank, scale, factors },
    classIds: [],
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

/**
 * Writes `record`'s factors as a PEFT adapter directory (adapter_config.json +
 * adapter_model.safetensors) that `PeftModel.from_pretrained(CLIPVisionModelWithProjection, dir)`
 * can load; scale is expressed as lora_alpha = scale · r. A PEFT adapter holds only the factors:
 * the head and class ids are not written (saveLoraFile keeps them).
 */
export function savePeftAdapter(dir: string, record: LoraRecord): void {
  const { rank, scale, factors } = record.parameters;
  const targets = [...new Set(factors.map((f) => HF_TARGET[f.site.projection]))];
  saveLoraFile(path.join(dir, 'adapter_model.safetensors'), { ...record, head: undefined, classIds: [] });
  writeJsonAtomic(path.join(dir, 'adapter_config.json'), {
    peft_type: 'LORA',
    task_type: null,
    r: rank,
    lora_alpha: scale * rank,
    lora_dropout: 0,
    target_modules: targets,
    layers_to_transform: [...new Set(factors.map((f) => f.site.layer))].sort((a, b) => a - b),
    bias: 'none',
    use_rslora: false,
    use_dora: false,
    fan_in_fan_out: false,
    init_lora_weights: true,
    rank_pattern: {},
    alpha_pattern: {},
    inference_mode: true,
    base_model_name_or_path: null,
  });
}
