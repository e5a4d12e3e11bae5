import * as path from 'path';
import type { LoRA } from '../adapters';
import { disposeLoraRecord, saveLoraFile } from '../io';
import type { MetaTrainResult } from '../meta';
import type { ZooEntry } from '../zoo';
import type { AblationVariant } from './ablation';
import type { InvertedLora } from './ports';
import { saveSurrogate } from './surrogate-files';

/** Where a variant's meta-training keeps its checkpoint and its selected meta-LoRA, under the run's folder. */
export function metaDir(workDir: string, variant: AblationVariant): string {
  return path.join(workDir, variant === 'lora-recycle' ? 'meta' : `meta-${variant}`);
}

/** Variants whose images are surrogates (inverted), saved for reuse; the oracle's real images and the noise are not. */
const SURROGATE_VARIANTS: readonly AblationVariant[] = ['lora-recycle', 'lora-recycle-pruned'];

/**
 * Writes what a user would reuse from a reproduction, beside the zoo the run already keeps:
 * each variant's selected meta-LoRA as a PEFT-named safetensors file, and the surrogate sets
 * (surrogates/<variant>/<zoo id>/). Returns the paths written, relative to `workDir`.
 */
export function saveArtifacts(
  workDir: string, zoo: readonly ZooEntry[], variants: ReadonlyMap<AblationVariant, { lora: LoRA; images: InvertedLora[]; result: MetaTrainResult }>,
): string[] {
  const written = ['zoo/'];
  for (const [variant, { lora, images, result }] of variants) {
    const file = path.join(metaDir(workDir, variant), 'meta-lora.safetensors');
    const record = { parameters: lora.toParameters(), classIds: [], metadata: { kind: 'meta-lora', variant, selected: result.best ? 'best on validation' : 'last step', best: result.best, steps: result.steps } };
    try {
      saveLoraFile(file, record);
    } finally {
      disposeLoraRecord(record);
    }
    written.push(path.relative(workDir, file));
    if (!SURROGATE_VARIANTS.includes(variant)) continue;
    const dir = path.join(workDir, 'surrogates', variant);
    images.forEach((inverted, i) => saveSurrogate(dir, zoo[i].id, inverted));
    written.push(`${path.relative(workDir, dir)}/`);
  }
  return written;
}
