import * as path from 'path';
import type { LoRA } from '../adapters';
import { disposeLoraRecord, saveLoraFile } from '../io';
import type { MetaTrainResult } from '../meta';
import type { AblationVariant } from './ablation';

/** Where a variant's meta-training keeps its checkpoint and its selected meta-LoRA, under the run's folder. */
export function metaDir(workDir: string, variant: AblationVariant): string {
  return path.join(workDir, variant === 'lora-recycle' ? 'meta' : `meta-${variant}`);
}

/** A variant's selected meta-LoRA file, in its metaDir: the evaluation's jobs read it from there (a remote JobRunner). */
export function metaLoraFile(workDir: string, variant: AblationVariant): string {
  return path.join(metaDir(workDir, variant), 'meta-lora.safetensors');
}

/** Writes a meta-LoRA as a PEFT-named safetensors file (atomically), with what selected it. */
export function saveMetaLora(file: string, lora: LoRA, result: MetaTrainResult, metadata: Record<string, string>): void {
  const record = {
    parameters: lora.toParameters(),
    classIds: [],
    metadata: {
      kind: 'meta-lora',
      ...metadata,
      selected: result.best ? 'best on validation' : 'last step',
      best: result.best,
      steps: result.steps,
    },
  };
  try {
    saveLoraFile(file, record);
  } finally {
    disposeLoraRecord(record);
  }
}

/** Where a variant's inversion of the zoo writes its surrogate sets (one folder per zoo id), under the run's folder. */
export function surrogateDir(workDir: string, variant: AblationVariant): string {
  return path.join(workDir, 'surrogates', variant);
}

/** Variants whose images are inverted (written to surrogateDir as they are made); the oracle's real images are not. */
const INVERTED_VARIANTS: readonly AblationVariant[] = ['lora-recycle', 'noise', 'lora-recycle-pruned'];

/**
 * Writes what a user would reuse from a reproduction, beside the zoo the run already keeps:
 * each variant's selected meta-LoRA as a PEFT-named safetensors file; the surrogate sets the
 * inversions wrote (surrogates/<variant>/<zoo id>/) are listed. Returns the paths kept, relative
 * to `workDir`.
 */
export function saveArtifacts(workDir: string, variants: ReadonlyMap<AblationVariant, { lora: LoRA; result: MetaTrainResult }>): string[] {
  const written = ['zoo/'];
  for (const [variant, { lora, result }] of variants) {
    const file = metaLoraFile(workDir, variant);
    saveMetaLora(file, lora, result, { variant });
    written.push(path.relative(workDir, file));
    if (INVERTED_VARIANTS.includes(variant)) written.push(`${path.relative(workDir, surrogateDir(workDir, variant))}/`);
  }
  return written;
}
