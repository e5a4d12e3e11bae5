import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { FileFormatError, MissingResourceError } from '../errors';
import { replaceDirectoryAtomic, writeJsonAtomic } from '../io/atomic-write';
import { readJsonFile } from '../io/read-json';
import { readSafetensors, toFloat32, writeSafetensors } from '../io/safetensors';
import { writeSurrogatePreviews } from './previews';
import { studentImages, type RecordedSurrogateSet, type Teacher } from './set';
import { checkSurrogateInfo, type SurrogateFileInfo } from './validate';

export const SURROGATE_FORMAT = 'lora-recycle/surrogate@2';
export const SURROGATE_JSON = 'surrogate.json';
export const SURROGATE_TENSORS = 'surrogate.safetensors';

/** A surrogate set read back without tensors: pixels [B, H, W, C] in [0, 1], masks [B, H, W, 1] (null without pruning). */
export interface SurrogateData {
  info: SurrogateFileInfo;
  pixels: Float32Array;
  masks: Float32Array | null;
}

/**
 * Writes a surrogate set to the directory `dir`: surrogate.safetensors (`pixels` and, when pruned,
 * `masks`, F32), surrogate.json (targets, kept patches and the record) and PNG previews that are
 * not read back. The directory is replaced as a whole (replaceDirectoryAtomic): readers see the
 * old set or the new one, never a mix. The student images are not stored: they are the pixels,
 * masked and normalised, recomputed on reading.
 */
export function writeSurrogateSet(
  dir: string,
  set: Pick<RecordedSurrogateSet, 'pixels' | 'masks' | 'targets' | 'keptPatches' | 'record'>,
): void {
  const [b, h, w, c] = set.pixels.shape;
  const info: SurrogateFileInfo = {
    format: SURROGATE_FORMAT,
    shape: [b, h, w, c],
    targets: [...set.targets],
    keptPatches: set.keptPatches ? set.keptPatches.map((row) => [...row]) : null,
    ...set.record,
  };
  checkSurrogateInfo(info, dir, SURROGATE_FORMAT);
  if ((set.masks === null) !== (set.keptPatches === null))
    throw new FileFormatError(dir, 'masks must be given exactly when patches were pruned (keptPatches)');
  const pixels = set.pixels.dataSync() as Float32Array;
  const masks = set.masks ? (set.masks.dataSync() as Float32Array) : null;
  replaceDirectoryAtomic(dir, (temp) => {
    writeSafetensors(
      path.join(temp, SURROGATE_TENSORS),
      { pixels: set.pixels, ...(set.masks ? { masks: set.masks } : {}) },
      { format: SURROGATE_FORMAT },
    );
    writeJsonAtomic(path.join(temp, SURROGATE_JSON), info);
    writeSurrogatePreviews(temp, pixels, masks, [b, h, w, c]);
  });
}

/** Reads the set in `dir` (written by writeSurrogateSet) as plain data, every field and tensor checked. */
export function readSurrogateData(dir: string): SurrogateData {
  const jsonPath = path.join(dir, SURROGATE_JSON);
  if (!fs.existsSync(jsonPath)) throw new MissingResourceError(`${dir} holds no surrogate set (no ${SURROGATE_JSON})`);
  const info = checkSurrogateInfo(readJsonFile(jsonPath, 'not valid JSON'), jsonPath, SURROGATE_FORMAT);
  const tensorsPath = path.join(dir, SURROGATE_TENSORS);
  if (!fs.existsSync(tensorsPath)) throw new MissingResourceError(`${dir}: ${SURROGATE_JSON} without its tensors (${SURROGATE_TENSORS})`);
  const { tensors, metadata } = readSafetensors(tensorsPath);
  if (metadata.format !== SURROGATE_FORMAT)
    throw new FileFormatError(tensorsPath, `expected metadata.format ${SURROGATE_FORMAT}, found ${JSON.stringify(metadata.format)}`);
  const [b, h, w] = info.shape;
  const take = (name: string, shape: number[], check: (v: number) => boolean, what: string): Float32Array => {
    const entry = tensors.get(name);
    if (entry?.dtype !== 'F32' || entry.shape.join(',') !== shape.join(',')) {
      throw new FileFormatError(
        tensorsPath,
        `expected F32 tensor "${name}" [${shape}] (shape of ${SURROGATE_JSON}), found ${entry ? `${entry.dtype} [${entry.shape}]` : 'none'}`,
      );
    }
    const values = toFloat32(entry);
    const bad = values.findIndex((v) => !check(v));
    if (bad >= 0) throw new FileFormatError(tensorsPath, `"${name}" must hold ${what}, found ${values[bad]} at element ${bad}`);
    return values;
  };
  const pixels = take('pixels', info.shape, (v) => v >= 0 && v <= 1, 'pixels in [0, 1]');
  const pruned = info.keptPatches !== null;
  if (!pruned && tensors.has('masks')) throw new FileFormatError(tensorsPath, `"masks" without keptPatches in ${SURROGATE_JSON}`);
  const masks = pruned ? take('masks', [b, h, w, 1], (v) => v === 0 || v === 1, 'mask values 0 or 1') : null;
  return { info, pixels, masks };
}

/**
 * Reads the set in `dir` with `teacher` (the inverted LoRA and its head, which the file names
 * but does not hold). The set owns its new tensors and the teacher's adapter.
 */
export function readSurrogateSet(dir: string, teacher: Teacher): RecordedSurrogateSet {
  const { info, pixels: values, masks: maskValues } = readSurrogateData(dir);
  const { format: _format, shape, targets, keptPatches, ...record } = info;
  const pixels = tf.tensor4d(values, shape);
  const masks = maskValues ? tf.tensor4d(maskValues, [shape[0], shape[1], shape[2], 1]) : null;
  try {
    return { images: studentImages(pixels, masks), pixels, masks, targets, keptPatches, teacher, record };
  } catch (error) {
    tf.dispose([pixels, ...(masks ? [masks] : [])]);
    throw error;
  }
}

/** The names of the surrogate sets (sub-directories with a surrogate.json) under `dir`, sorted. */
export function listSurrogateSets(dir: string): string[] {
  if (!fs.existsSync(dir)) throw new MissingResourceError(`no surrogate directory ${dir}; run "lora-recycle invert" first`);
  return fs
    .readdirSync(dir)
    .filter((name) => fs.existsSync(path.join(dir, name, SURROGATE_JSON)))
    .sort();
}
