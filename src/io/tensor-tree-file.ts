import * as tf from '@tensorflow/tfjs';
import { FileFormatError } from '../errors';
import { flattenTree, treeFromNamed } from '../model/tensor-tree';
import { type SafetensorsContents, tensorFromEntry } from './safetensors';

/**
 * The tensors of a safetensors file as a tree shaped like `template` (named as flattenTree names
 * its leaves), each checked against the template's shape; a FileFormatError names the first
 * missing or misshapen one, and nothing read is kept then. The template stays the caller's.
 */
export function treeFromSafetensors<T extends object>(file: SafetensorsContents, path: string, template: T): T {
  const named: Record<string, tf.Tensor> = {};
  try {
    for (const [name, t] of Object.entries(flattenTree(template))) {
      const entry = file.tensors.get(name);
      if (!entry) throw new FileFormatError(path, `missing tensor "${name}" of shape [${t.shape}]`);
      named[name] = tensorFromEntry(entry);
    }
    return treeFromNamed(template, named, path); // checks every shape against the template
  } catch (error) {
    tf.dispose(Object.values(named));
    throw error;
  }
}

/**
 * The model configuration stored in a safetensors file's metadata (`config`, JSON), after checking
 * that `metadata.format` is `format`; `validate` throws on a bad configuration. FileFormatError otherwise.
 */
export function configFromSafetensors<C>(
  file: SafetensorsContents,
  path: string,
  format: string,
  what: string,
  validate: (config: C) => void,
): C {
  if (file.metadata.format !== format)
    throw new FileFormatError(path, `expected metadata.format "${format}", found ${JSON.stringify(file.metadata.format)}`);
  try {
    const config = JSON.parse(file.metadata.config) as C;
    validate(config);
    return config;
  } catch (error) {
    throw new FileFormatError(path, `metadata.config is not a valid ${what}: ${(error as Error).message}`);
  }
}
