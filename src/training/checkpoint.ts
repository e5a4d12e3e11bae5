import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { FileFormatError } from '../errors';
import { readSafetensors, tensorFromEntry, writeSafetensors } from '../io/safetensors';

export interface CheckpointInfo {
  run: string;
  step: number;
  totalSteps: number;
}

/** Writes `tensors` and `info` to one safetensors file (atomically, via src/io). */
export function saveCheckpoint(path: string, tensors: Record<string, tf.Tensor>, info: CheckpointInfo): void {
  writeSafetensors(path, tensors, { format: 'lora-recycle/supervised-checkpoint@1', info: JSON.stringify(info) });
}

/**
 * If `path` exists: assigns every saved tensor to the variable of the same name in `into`
 * (shapes checked) and returns the saved info; otherwise null. A file missing any entry of
 * `into`, or from another run, is rejected with FileFormatError.
 */
export function loadCheckpoint(path: string, into: Record<string, tf.Tensor>): CheckpointInfo | null {
  if (!fs.existsSync(path)) return null;
  const file = readSafetensors(path);
  {
    if (file.metadata?.format !== 'lora-recycle/supervised-checkpoint@1') {
      throw new FileFormatError(path, `not a supervised-training checkpoint (metadata.format is ${JSON.stringify(file.metadata?.format)})`);
    }
    const info = JSON.parse(file.metadata.info ?? 'null') as CheckpointInfo | null;
    if (!info || !Number.isInteger(info.step)) throw new FileFormatError(path, 'metadata.info has no integer step');
    for (const [name, target] of Object.entries(into)) {
      const saved = file.tensors.get(name);
      if (!saved || saved.shape.join() !== target.shape.join()) {
        throw new FileFormatError(path, `"${name}": expected shape [${target.shape}], found ${saved ? `[${saved.shape}]` : 'nothing'}`);
      }
      tf.tidy(() => (target as tf.Variable).assign(tensorFromEntry(saved)));
    }
    return info;
  }
}
