import * as tf from '@tensorflow/tfjs';
import { siteKey } from '../model/adapter-hook';
import type { LoraParameters } from '../adapters/lora-parameters';
import { FileFormatError, ShapeError } from '../errors';
import type { ViTConfig } from '../model/config';
import { HF_TARGET, peftFactorName } from './peft-names';
import { transposeValues } from './layouts';
import { previewJson } from './json-preview';
import { factorsFromPeftTensors } from './lora-factors';
import { type SafetensorsEntry, type WritableTensor, readSafetensors, toFloat32, writeSafetensors } from './safetensors';

/**
 * Our LoRA file: one safetensors file whose factor names follow PEFT's for CLIP
 * (`base_model.model.vision_model.encoder.layers.{i}.self_attn.{q,v}_proj.lora_{A,B}.weight`,
 * PEFT layouts A [r, in], B [out, r]) so PEFT tools can read the factors, plus an optional task
 * head `head.weight` [N, D] and `head.bias` [N] (PyTorch nn.Linear layout), and in `__metadata__`:
 *   format "pt" (what PEFT/transformers expect), lora_recycle "lora@1", rank, scale, alpha (= scale·r),
 *   targets (JSON list of PEFT module names), class_ids (JSON list), metadata (JSON object: backbone
 *   id, tuning record, anything the caller wants).
 */
export const LORA_FILE_FORMAT = 'lora@1';

export interface LoraRecord {
  parameters: LoraParameters;
  head?: { weight: tf.Tensor2D /* [D, N] */; bias: tf.Tensor1D /* [N] */ };
  classIds: string[];
  metadata: Record<string, unknown>;
}

/** Disposes every tensor a LoraRecord holds. */
export function disposeLoraRecord(record: LoraRecord): void {
  tf.dispose(record.parameters.factors.flatMap((f) => [f.a, f.b]));
  if (record.head) tf.dispose([record.head.weight, record.head.bias]);
}

/**
 * Writes `record` atomically; shapes are checked against each other first. `modulePrefix` places
 * the factors in another model class's module tree (peft-names.ts VISION_MODULE_PREFIX).
 */
export function saveLoraFile(path: string, record: LoraRecord, options: { modulePrefix?: string } = {}): void {
  const { rank, scale, factors } = record.parameters;
  const tensors: Record<string, WritableTensor> = {};
  const targets = new Set<string>();
  for (const { site, a, b } of factors) {
    if (a.shape[1] !== rank || b.shape[0] !== rank) {
      throw new ShapeError(
        `LoRA site ${siteKey(site)}: expected A [in, ${rank}] and B [${rank}, out], found [${a.shape}] and [${b.shape}]`,
      );
    }
    const [inDim, outDim] = [a.shape[0], b.shape[1]];
    tensors[peftFactorName(site, 'A', options.modulePrefix)] = {
      dtype: 'F32',
      shape: [rank, inDim],
      data: transposeValues(a.dataSync() as Float32Array, inDim, rank),
    };
    tensors[peftFactorName(site, 'B', options.modulePrefix)] = {
      dtype: 'F32',
      shape: [outDim, rank],
      data: transposeValues(b.dataSync() as Float32Array, rank, outDim),
    };
    targets.add(HF_TARGET[site.projection]);
  }
  if (record.head) {
    const [inDim, classes] = record.head.weight.shape;
    if (record.head.bias.shape[0] !== classes) {
      throw new ShapeError(`LoRA head: weight [${inDim}, ${classes}] needs bias [${classes}], found [${record.head.bias.shape}]`);
    }
    if (record.classIds.length > 0 && record.classIds.length !== classes) {
      throw new ShapeError(`LoRA head has ${classes} classes but ${record.classIds.length} class ids were given`);
    }
    tensors['head.weight'] = {
      dtype: 'F32',
      shape: [classes, inDim],
      data: transposeValues(record.head.weight.dataSync() as Float32Array, inDim, classes),
    };
    tensors['head.bias'] = { dtype: 'F32', shape: [classes], data: record.head.bias.dataSync() as Float32Array };
  }
  writeSafetensors(path, tensors, {
    format: 'pt',
    lora_recycle: LORA_FILE_FORMAT,
    rank: String(rank),
    scale: String(scale),
    alpha: String(scale * rank),
    targets: JSON.stringify([...targets]),
    class_ids: JSON.stringify(record.classIds),
    metadata: JSON.stringify(record.metadata),
  });
}

function parseJsonField<T>(
  file: string,
  metadata: Record<string, string>,
  key: string,
  check: (v: unknown) => boolean,
  expected: string,
): T {
  const raw = metadata[key];
  let value: unknown;
  try {
    value = raw === undefined ? undefined : JSON.parse(raw);
  } catch {
    throw new FileFormatError(file, `__metadata__.${key} is not valid JSON`);
  }
  if (!check(value)) throw new FileFormatError(file, `__metadata__.${key} must be ${expected}, found ${raw?.slice(0, 80)}`);
  return value as T;
}

/**
 * Reads a file written by saveLoraFile. With `config`, every factor and the head are checked
 * against the backbone. The caller owns the returned tensors (see disposeLoraRecord).
 */
export function loadLoraFile(path: string, config?: ViTConfig): LoraRecord {
  const { metadata, tensors } = readSafetensors(path);
  if (metadata.lora_recycle !== LORA_FILE_FORMAT) {
    throw new FileFormatError(
      path,
      `not a lora-recycle LoRA file (__metadata__.lora_recycle is ${previewJson(metadata.lora_recycle)}, expected "${LORA_FILE_FORMAT}"); ` +
        'for a PEFT adapter directory use loadPeftAdapter',
    );
  }
  const rank = Number(metadata.rank);
  const scale = Number(metadata.scale);
  if (!Number.isInteger(rank) || rank <= 0)
    throw new FileFormatError(path, `__metadata__.rank must be a positive integer, found ${previewJson(metadata.rank)}`);
  if (!Number.isFinite(scale)) throw new FileFormatError(path, `__metadata__.scale must be a number, found ${previewJson(metadata.scale)}`);
  const classIds = parseJsonField<string[]>(
    path,
    metadata,
    'class_ids',
    (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'),
    'a JSON list of strings',
  );
  const extra = parseJsonField<Record<string, unknown>>(
    path,
    metadata,
    'metadata',
    (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
    'a JSON object',
  );

  const head = readHead(path, tensors.get('head.weight'), tensors.get('head.bias'), classIds, config);
  const isHead = (name: string) => name === 'head.weight' || name === 'head.bias';
  const found = factorsFromPeftTensors(tensors, path, config, isHead);
  if (found.rank !== rank) {
    tf.dispose(found.factors.flatMap((f) => [f.a, f.b]));
    throw new FileFormatError(path, `__metadata__.rank is ${rank} but the factors have rank ${found.rank}`);
  }
  return {
    parameters: { rank, scale, factors: found.factors },
    head: head && { weight: tf.tensor2d(head.weight, [head.inDim, head.classes]), bias: tf.tensor1d(head.bias) },
    classIds,
    metadata: extra,
  };
}

function readHead(
  path: string,
  weight: SafetensorsEntry | undefined,
  bias: SafetensorsEntry | undefined,
  classIds: string[],
  config?: ViTConfig,
): { weight: Float32Array; bias: Float32Array; inDim: number; classes: number } | undefined {
  if (!weight && !bias) return undefined;
  if (!weight || !bias) throw new FileFormatError(path, `"head.${weight ? 'bias' : 'weight'}" is missing (a head needs both)`);
  if (weight.shape.length !== 2) throw new FileFormatError(path, `"head.weight" must be [classes, features], found [${weight.shape}]`);
  const [classes, inDim] = weight.shape;
  if (bias.shape.join() !== String(classes))
    throw new FileFormatError(path, `"head.bias": expected shape [${classes}], found [${bias.shape}]`);
  if (config && inDim !== config.projectionDim) {
    throw new FileFormatError(
      path,
      `"head.weight": expected [classes, ${config.projectionDim}] for this backbone, found [${weight.shape}]`,
    );
  }
  if (classIds.length > 0 && classIds.length !== classes) {
    throw new FileFormatError(path, `head has ${classes} classes but __metadata__.class_ids lists ${classIds.length}`);
  }
  return { weight: transposeValues(toFloat32(weight), classes, inDim), bias: toFloat32(bias), inDim, classes };
}
