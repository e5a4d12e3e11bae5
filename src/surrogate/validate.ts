import { FileFormatError } from '../errors';
import { previewJson } from '../io/json-preview';
import type { SurrogateRecord } from './set';

/** surrogate.json: the shape of the pixels, targets, kept patches and the record of the set. */
export interface SurrogateFileInfo extends SurrogateRecord {
  format: string;
  shape: [number, number, number, number]; // [B, H, W, C] of the pixels
  targets: number[]; // [B] class-major
  keptPatches: number[][] | null; // [B][n] surviving patches, row-major; null without pruning
}

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isProbability = (v: unknown): boolean => typeof v === 'number' && v >= 0 && v <= 1 + 1e-6; // a float32 softmax may round just above 1

/** `json` as a SurrogateFileInfo of `format`, or a FileFormatError naming `file`, the field and what it holds. */
export function checkSurrogateInfo(json: unknown, file: string, format: string): SurrogateFileInfo {
  const fail = (field: string, expected: string, found: unknown): never => {
    throw new FileFormatError(file, `${field}: expected ${expected}, found ${previewJson(found)}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('surrogate info', 'a JSON object', json);
  const info = json as Record<string, unknown>;
  if (info.format !== format) fail('format', JSON.stringify(format), info.format);
  const shape = info.shape;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((n) => isCount(n) && n > 0))
    fail('shape', '[B, H, W, C] of positive integers', shape);
  const b = (shape as number[])[0];
  const list = (field: string, check: (v: unknown) => boolean, expected: string, length = b): unknown[] => {
    const value = info[field];
    if (!Array.isArray(value) || value.length !== length || !value.every(check)) fail(field, `${length} ${expected}`, value);
    return value as unknown[];
  };
  const classNames = list(
    'classNames',
    (v) => typeof v === 'string',
    'class names (strings)',
    Array.isArray(info.classNames) ? info.classNames.length : 0,
  );
  if (classNames.length === 0) fail('classNames', 'at least one class name', info.classNames);
  list('targets', (v) => isCount(v) && (v as number) < classNames.length, `targets (integers in 0..${classNames.length - 1})`);
  list(
    'teacherPredictions',
    (v) => isCount(v) && (v as number) < classNames.length,
    `predictions (integers in 0..${classNames.length - 1})`,
  );
  list('targetConfidence', isProbability, 'probabilities');
  list('maxConfidence', isProbability, 'probabilities');
  if (info.keptPatches !== null) {
    const rows = list('keptPatches', (row) => Array.isArray(row) && row.every(isCount), 'rows of patch indices, or null');
    if (rows.some((row) => (row as unknown[]).length !== (rows[0] as unknown[]).length))
      fail('keptPatches', 'rows of one length', info.keptPatches);
  }
  if (typeof info.teacherLora !== 'string') fail('teacherLora', 'the inverted LoRA (a string)', info.teacherLora);
  if (!isCount(info.steps) || !isCount(info.totalSteps)) fail('steps, totalSteps', 'non-negative integers', [info.steps, info.totalSteps]);
  if (typeof info.iterationsPerSecond !== 'number' || !(info.iterationsPerSecond >= 0))
    fail('iterationsPerSecond', 'a number ≥ 0', info.iterationsPerSecond);
  if (!Array.isArray(info.history)) fail('history', 'an array of inversion steps', info.history);
  if (info.seed !== undefined && !Number.isInteger(info.seed)) fail('seed', "the inversion's seed (an integer) or nothing", info.seed);
  return info as unknown as SurrogateFileInfo;
}
