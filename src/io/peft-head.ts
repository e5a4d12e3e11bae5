import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { FileFormatError, MissingResourceError, ShapeError } from '../errors';
import type { ViTConfig } from '../model/config';
import { writeJsonAtomic } from './atomic-write';
import { previewJson } from './json-preview';
import { transposeValues } from './layouts';
import { readJsonFile } from './read-json';
import { readSafetensors, toFloat32, writeSafetensors } from './safetensors';

/**
 * The task head of a PEFT LoRA directory, beside adapter_config.json (PEFT itself saves no head;
 * inversion needs one as its teacher's classifier, docs/your-own-models.md):
 *   head.safetensors  `weight` [classes, D] and `bias` [classes]: the state_dict of the
 *                     torch.nn.Linear(D, classes) on the backbone's feature f(x) (D = projection
 *                     size, or the width for a CLIPVisionModel)
 *   classes.json      a JSON list of the classes' names, in the order of the head's outputs
 * Both files or neither; classes.json alone names the classes of a LoRA without a head.
 */
export const HEAD_FILE = 'head.safetensors';
export const CLASSES_FILE = 'classes.json';

export interface PeftHead {
  head?: { weight: tf.Tensor2D /* [D, N] */; bias: tf.Tensor1D /* [N] */ };
  classIds: string[];
}

function readClasses(file: string): string[] {
  const json = readJsonFile(file, 'not valid JSON');
  if (!Array.isArray(json) || !json.every((c) => typeof c === 'string' && c !== '')) {
    throw new FileFormatError(file, `expected a JSON list of class names (non-empty strings), found ${previewJson(json)}`);
  }
  return json as string[];
}

/**
 * Reads head.safetensors and classes.json of `dir`, where present. With `config`, the head must
 * take the backbone's feature (D = config.projectionDim). The caller owns the returned tensors.
 */
export function readPeftHead(dir: string, config?: ViTConfig): PeftHead {
  const headFile = path.join(dir, HEAD_FILE);
  const classesFile = path.join(dir, CLASSES_FILE);
  const classIds = fs.existsSync(classesFile) ? readClasses(classesFile) : [];
  if (!fs.existsSync(headFile)) return { classIds };
  if (!fs.existsSync(classesFile)) {
    throw new MissingResourceError(
      `${classesFile}: no such file (${HEAD_FILE} needs ${CLASSES_FILE}, a JSON list naming its classes in order)`,
    );
  }
  const { tensors } = readSafetensors(headFile);
  const extra = [...tensors.keys()].filter((name) => name !== 'weight' && name !== 'bias');
  if (extra.length > 0) throw new FileFormatError(headFile, `unexpected tensor "${extra[0]}" (a head holds only "weight" and "bias")`);
  const weight = tensors.get('weight');
  const bias = tensors.get('bias');
  if (!weight || !bias)
    throw new FileFormatError(
      headFile,
      `missing tensor "${weight ? 'bias' : 'weight'}" (a head holds "weight" [classes, D] and "bias" [classes])`,
    );
  if (weight.shape.length !== 2)
    throw new FileFormatError(headFile, `tensor "weight": expected [classes, D], found [${weight.shape.join(', ')}]`);
  const [classes, inDim] = weight.shape;
  if (bias.shape.length !== 1 || bias.shape[0] !== classes) {
    throw new FileFormatError(headFile, `tensor "bias": expected shape [${classes}], found [${bias.shape.join(', ')}]`);
  }
  if (config && inDim !== config.projectionDim) {
    throw new FileFormatError(
      headFile,
      `tensor "weight": expected [classes, ${config.projectionDim}] (the backbone's feature size), found [${weight.shape.join(', ')}]`,
    );
  }
  if (classIds.length !== classes) {
    throw new FileFormatError(classesFile, `names ${classIds.length} classes, but the head in ${HEAD_FILE} has ${classes}`);
  }
  return {
    head: { weight: tf.tensor2d(transposeValues(toFloat32(weight), classes, inDim), [inDim, classes]), bias: tf.tensor1d(toFloat32(bias)) },
    classIds,
  };
}

/** Writes head.safetensors (F32, nn.Linear layout) and classes.json into `dir`. */
export function writePeftHead(dir: string, head: NonNullable<PeftHead['head']>, classIds: string[]): void {
  const [inDim, classes] = head.weight.shape;
  if (head.bias.shape[0] !== classes || classIds.length !== classes) {
    throw new ShapeError(
      `${dir}: a head of ${classes} classes needs bias [${classes}] and ${classes} class names, found [${head.bias.shape}] and ${classIds.length} names`,
    );
  }
  writeSafetensors(
    path.join(dir, HEAD_FILE),
    {
      weight: { dtype: 'F32', shape: [classes, inDim], data: transposeValues(head.weight.dataSync() as Float32Array, inDim, classes) },
      bias: { dtype: 'F32', shape: [classes], data: head.bias.dataSync() as Float32Array },
    },
    { format: 'pt' },
  );
  writeJsonAtomic(path.join(dir, CLASSES_FILE), classIds);
}
