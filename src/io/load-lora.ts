import * as fs from 'fs';
import { LoRA } from '../adapters/lora';
import type { ViTConfig } from '../model/config';
import { disposeLoraRecord, loadLoraFile } from './lora-file';
import { loadPeftAdapter } from './peft-adapter';

/**
 * A frozen (unless `trainable`) LoRA from a lora-recycle LoRA file (meta-train's
 * meta-lora.safetensors, a zoo's lora-*.safetensors) or a PEFT adapter directory: rank, scale
 * and sites come from the file. With `config`, every factor is checked against the backbone.
 * A LoRA holds no head or class ids; loadLoraFile returns those too.
 */
export function loadLora(file: string, options: { config?: ViTConfig; trainable?: boolean } = {}): LoRA {
  const record = fs.existsSync(file) && fs.statSync(file).isDirectory() ? loadPeftAdapter(file, options.config) : loadLoraFile(file, options.config);
  try {
    return LoRA.fromParameters(record.parameters, { trainable: options.trainable ?? false });
  } finally {
    disposeLoraRecord(record);
  }
}
