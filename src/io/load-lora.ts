import * as fs from 'fs';
import { LoRA } from '../adapters/lora';
import type { ViTConfig } from '../model/config';
import { disposeLoraRecord, loadLoraFile, type LoraRecord } from './lora-file';
import { loadPeftAdapter } from './peft-adapter';

/**
 * A lora-recycle LoRA file or a PEFT adapter directory (with its head files, where present) as a
 * LoraRecord: factors, head, class ids. With `config`, every factor and the head are checked
 * against the backbone. The caller owns the tensors (disposeLoraRecord).
 */
export function loadLoraRecord(file: string, config?: ViTConfig): LoraRecord {
  return fs.existsSync(file) && fs.statSync(file).isDirectory() ? loadPeftAdapter(file, config) : loadLoraFile(file, config);
}

/**
 * A frozen (unless `trainable`) LoRA from a lora-recycle LoRA file (meta-train's
 * meta-lora.safetensors, a zoo's lora-*.safetensors) or a PEFT adapter directory: rank, scale
 * and sites come from the file. With `config`, every factor is checked against the backbone.
 * A LoRA holds no head or class ids; loadLoraRecord returns those too.
 */
export function loadLora(file: string, options: { config?: ViTConfig; trainable?: boolean } = {}): LoRA {
  const record = loadLoraRecord(file, options.config);
  try {
    return LoRA.fromParameters(record.parameters, { trainable: options.trainable ?? false });
  } finally {
    disposeLoraRecord(record);
  }
}
