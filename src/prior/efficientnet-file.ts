import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { FileFormatError, MissingResourceError } from '../errors';
import { type SafetensorsContents, readSafetensors, tensorFromEntry } from '../io/safetensors';
import { packageRoot } from '../paths/package-root';
import type { BatchNormWeights } from './prior-cnn';
import {
  type ConvBatchNorm,
  EfficientNetLite0,
  type EfficientNetPriorOptions,
  type EfficientNetWeights,
  efficientNetShapes,
  mbConvBlocks,
} from './efficientnet-lite0';

/** metadata.format of the file scripts/convert-efficientnet-prior.py writes. */
export const EFFICIENTNET_PRIOR_FORMAT = 'lora-recycle/efficientnet-lite0@1';

/** The command that writes the converted file (scripts/setup.sh runs it in its venv step). */
export const EFFICIENTNET_CONVERT_COMMAND = '.venv/bin/python scripts/convert-efficientnet-prior.py (run by bash scripts/setup.sh)';

/** Where set-up writes the converted EfficientNet-Lite0: .cache/prior/efficientnet-lite0.safetensors in the package root. */
export function efficientNetPriorPath(): string {
  return path.join(packageRoot(), '.cache', 'prior', 'efficientnet-lite0.safetensors');
}

/**
 * Loads the converted EfficientNet-Lite0 prior; every tensor's shape is checked against the
 * architecture. A missing file is a MissingResourceError naming the set-up command.
 */
export function loadEfficientNetPrior(file = efficientNetPriorPath(), options: EfficientNetPriorOptions = {}): EfficientNetLite0 {
  if (!fs.existsSync(file)) {
    throw new MissingResourceError(
      `the EfficientNet-Lite0 image prior ${file} is missing; it is converted at set-up: ${EFFICIENTNET_CONVERT_COMMAND}`,
    );
  }
  return efficientNetFromSafetensors(readSafetensors(file), file, options);
}

/** The prior from a read file whose metadata.format is EFFICIENTNET_PRIOR_FORMAT. */
export function efficientNetFromSafetensors(
  contents: SafetensorsContents,
  file: string,
  options: EfficientNetPriorOptions = {},
): EfficientNetLite0 {
  if (contents.metadata.format !== EFFICIENTNET_PRIOR_FORMAT) {
    throw new FileFormatError(
      file,
      `expected metadata.format "${EFFICIENTNET_PRIOR_FORMAT}", found ${JSON.stringify(contents.metadata.format)}`,
    );
  }
  const named: Record<string, tf.Tensor> = {};
  try {
    for (const [name, shape] of Object.entries(efficientNetShapes())) {
      const entry = contents.tensors.get(name);
      if (!entry) throw new FileFormatError(file, `missing tensor "${name}" of shape [${shape}]`);
      if (entry.shape.length !== shape.length || entry.shape.some((s, i) => s !== shape[i])) {
        throw new FileFormatError(file, `tensor "${name}": expected shape [${shape}], found [${entry.shape}]`);
      }
      named[name] = tensorFromEntry(entry);
    }
    return new EfficientNetLite0(weightsFromNamed(named), options);
  } catch (error) {
    tf.dispose(Object.values(named));
    throw error;
  }
}

function weightsFromNamed(named: Record<string, tf.Tensor>): EfficientNetWeights {
  const convBatchNorm = (name: string): ConvBatchNorm => {
    const get = (key: string) => named[`${name}.batchNorm.${key}`] as tf.Tensor1D;
    const batchNorm: BatchNormWeights = {
      gamma: get('gamma'),
      beta: get('beta'),
      runningMean: get('runningMean'),
      runningVariance: get('runningVariance'),
    };
    return { kernel: named[`${name}.kernel`], batchNorm };
  };
  return {
    stem: convBatchNorm('stem'),
    blocks: mbConvBlocks().map((b, i) => ({
      ...(b.expansion !== 1 ? { expand: convBatchNorm(`blocks.${i}.expand`) } : {}),
      depthwise: convBatchNorm(`blocks.${i}.depthwise`),
      project: convBatchNorm(`blocks.${i}.project`),
    })),
    head: convBatchNorm('head'),
    classifier: { kernel: named['classifier.kernel'] as tf.Tensor2D, bias: named['classifier.bias'] as tf.Tensor1D },
  };
}
