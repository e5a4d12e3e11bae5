import { assetPath } from '../paths/package-root';
import { flattenTree } from '../model/tensor-tree';
import { configFromSafetensors, treeFromSafetensors } from '../io/tensor-tree-file';
import { type SafetensorsContents, readSafetensors, writeSafetensors } from '../io/safetensors';
import { EFFICIENTNET_PRIOR_FORMAT, efficientNetFromSafetensors } from './efficientnet-file';
import type { EfficientNetPriorOptions } from './efficientnet-lite0';
import type { ImagePrior } from './image-prior';
import { PriorCnn, type PriorCnnConfig, validatePriorConfig } from './prior-cnn';

const FORMAT = 'lora-recycle/prior-cnn@1';

/** The prior shipped in the repository (trained by scripts/train-prior.ts). */
export const SHIPPED_PRIOR_FILE = ['prior', 'prior-cnn.safetensors'];

/**
 * Saves a prior with its running statistics: tensors named as in PriorCnnWeights
 * ("blocks.0.kernel" [3,3,Cin,Cout], "blocks.0.batchNorm.runningMean", "head.kernel", ...),
 * config and free-form notes in the metadata. Atomic (src/io).
 */
export function savePrior(path: string, prior: PriorCnn, notes: Record<string, unknown> = {}): void {
  const tensors = flattenTree(prior.weights);
  writeSafetensors(path, tensors, { format: FORMAT, config: JSON.stringify(prior.config), notes: JSON.stringify(notes) });
}

/**
 * Loads either image prior, by its metadata.format: a PriorCnn saved by savePrior or the
 * EfficientNet-Lite0 converted at set-up (`options` apply to the latter only).
 */
export function loadPrior(path: string, options: EfficientNetPriorOptions = {}): ImagePrior {
  const file = readSafetensors(path);
  return file.metadata.format === EFFICIENTNET_PRIOR_FORMAT
    ? efficientNetFromSafetensors(file, path, options)
    : priorCnnFromSafetensors(file, path);
}

/** Loads a prior saved by savePrior; every tensor's shape is checked against the stored config. */
export function loadPriorCnn(path: string): PriorCnn {
  return priorCnnFromSafetensors(readSafetensors(path), path);
}

function priorCnnFromSafetensors(file: SafetensorsContents, path: string): PriorCnn {
  const config = configFromSafetensors<PriorCnnConfig>(file, path, FORMAT, 'PriorCnnConfig', validatePriorConfig);
  const template = PriorCnn.random(config, 0);
  try {
    return new PriorCnn(config, treeFromSafetensors(file, path, template.weights));
  } finally {
    template.dispose();
  }
}

/** The image prior shipped with the package (assets/prior/prior-cnn.safetensors). */
export function loadShippedPrior(): PriorCnn {
  return loadPriorCnn(assetPath(...SHIPPED_PRIOR_FILE));
}
