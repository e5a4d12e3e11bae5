import * as fs from 'fs';
import * as path from 'path';
import { threadId } from 'worker_threads';
import { FileFormatError, MissingResourceError } from '../errors';
import { writeJsonAtomic } from '../io/atomic-write';
import { readSafetensors, toFloat32, writeSafetensors } from '../io/safetensors';
import type { InversionResult, InversionStep } from '../inversion';
import { readJsonFile } from '../io/read-json';

export const INVERSION_OUTPUT_FORMAT = 'lora-recycle/inversion@1';
const TENSORS_FILE = 'images.safetensors';
const JSON_FILE = 'inversion.json';

/** `inversion.json`: everything but the images. */
export interface InversionOutputInfo {
  format: typeof INVERSION_OUTPUT_FORMAT;
  id: string; // the job's id
  lora: string; // the inverted LoRA file
  shape: [number, number, number, number]; // [B, H, W, C] of the pixels
  classNames: string[];
  targets: number[]; // [B] class-major, K+Q per class
  keptPatches: number[][] | null; // [B][n] patches of the final pruned forward; null without pruning
  targetConfidence: number[]; // [B] teacher p(y_i | x_i)
  teacherConfidence: number[]; // [B] teacher max_c p(c | x_i)
  teacherPredictions: number[]; // [B]
  steps: number;
  totalSteps: number;
  iterationsPerSecond: number;
  history: InversionStep[];
}

/** An inversion read back: the info plus `pixels` [B, H, W, C] in [0, 1] and `masks` [B, H, W, 1]. */
export interface InversionOutput extends InversionOutputInfo {
  pixels: Float32Array;
  masks: Float32Array;
}

/**
 * Writes an inversion to the directory `dir`: images.safetensors (`pixels`, `masks`, F32) and
 * inversion.json. The files are written to a sibling temporary directory that is then renamed
 * to `dir` (an earlier `dir` is replaced), so readers see the old or the new one, never a mix.
 */
export function saveInversionOutput(dir: string, result: InversionResult, about: { id: string; lora: string }): void {
  const [b, h, w, c] = result.pixels.shape;
  const info: InversionOutputInfo = {
    format: INVERSION_OUTPUT_FORMAT, id: about.id, lora: about.lora, shape: [b, h, w, c],
    classNames: [...result.classNames], targets: [...result.targets], keptPatches: result.keptPatches,
    targetConfidence: result.targetConfidence, teacherConfidence: result.teacherConfidence, teacherPredictions: result.teacherPredictions,
    steps: result.steps, totalSteps: result.totalSteps, iterationsPerSecond: result.iterationsPerSecond,
    history: result.history,
  };
  replaceDirectory(dir, (temp) => {
    writeSafetensors(path.join(temp, TENSORS_FILE), { pixels: result.pixels, masks: result.masks }, { format: INVERSION_OUTPUT_FORMAT });
    writeJsonAtomic(path.join(temp, JSON_FILE), info);
  });
}

/** Reads a directory written by saveInversionOutput, checking the images against the info. */
export function loadInversionOutput(dir: string): InversionOutput {
  const jsonPath = path.join(dir, JSON_FILE);
  if (!fs.existsSync(jsonPath)) throw new MissingResourceError(`${dir} holds no inversion (no ${JSON_FILE})`);
  const info = readJsonFile(jsonPath, 'not valid JSON') as InversionOutputInfo;
  if (info?.format !== INVERSION_OUTPUT_FORMAT) throw new FileFormatError(jsonPath, `expected format ${INVERSION_OUTPUT_FORMAT}, found ${JSON.stringify(info?.format)}`);
  const tensorsPath = path.join(dir, TENSORS_FILE);
  const { tensors } = readSafetensors(tensorsPath);
  const [b, h, w, c] = info.shape;
  const take = (name: string, shape: number[]): Float32Array => {
    const entry = tensors.get(name);
    if (!entry || entry.shape.join(',') !== shape.join(',')) {
      throw new FileFormatError(tensorsPath, `expected tensor "${name}" [${shape}], found ${entry ? `[${entry.shape}]` : 'none'}`);
    }
    return toFloat32(entry);
  };
  return { ...info, pixels: take('pixels', [b, h, w, c]), masks: take('masks', [b, h, w, 1]) };
}

/** Fills a fresh sibling directory with `write`, then swaps it in for `dir`. */
function replaceDirectory(dir: string, write: (temp: string) => void): void {
  const target = path.resolve(dir);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temp = fs.mkdtempSync(`${path.join(path.dirname(target), `.${path.basename(target)}`)}.${process.pid}-${threadId}-`);
  try {
    write(temp);
    if (fs.existsSync(target)) {
      const old = `${temp}.old`;
      fs.renameSync(target, old);
      fs.renameSync(temp, target);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(temp, target);
    }
  } catch (error) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}
