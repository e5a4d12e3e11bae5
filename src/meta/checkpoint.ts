import { FileFormatError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import type { AdamMoments } from './adam';
import { readJsonFile } from '../io/read-json';

/** The best meta-LoRA seen so far, selected on the validation split. */
export interface BestSoFar {
  step: number;
  accuracy: number;
  variables: Float32Array[];
}

/** Everything a meta-training run needs to continue exactly where it stopped. */
export interface MetaCheckpoint {
  step: number; // optimisation steps done
  rngState: number;
  variables: Float32Array[]; // the meta-LoRA's trainable variables, in trainableVariables() order
  adam: AdamMoments;
  best: BestSoFar | null;
  /** Describes the run (shapes, options); a resume with a different run is refused. */
  fingerprint: string;
}

const FORMAT = 'lora-recycle/meta-checkpoint@1';

const encode = (a: Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function decode(text: unknown, file: string, what: string): Float32Array {
  if (typeof text !== 'string') throw new FileFormatError(file, `${what}: expected a base64 string, found ${typeof text}`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength % 4 !== 0) throw new FileFormatError(file, `${what}: ${bytes.byteLength} bytes is not a whole number of float32 values`);
  const copy = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}

function decodeList(list: unknown, file: string, what: string): Float32Array[] {
  if (!Array.isArray(list)) throw new FileFormatError(file, `${what}: expected a list, found ${typeof list}`);
  return list.map((item, i) => decode(item, file, `${what}[${i}]`));
}

export function saveMetaCheckpoint(file: string, checkpoint: MetaCheckpoint): void {
  const json = {
    format: FORMAT,
    step: checkpoint.step,
    rngState: checkpoint.rngState,
    fingerprint: checkpoint.fingerprint,
    variables: checkpoint.variables.map(encode),
    adam: { step: checkpoint.adam.step, first: checkpoint.adam.first.map(encode), second: checkpoint.adam.second.map(encode) },
    best: checkpoint.best && { step: checkpoint.best.step, accuracy: checkpoint.best.accuracy, variables: checkpoint.best.variables.map(encode) },
  };
  writeFileAtomic(file, JSON.stringify(json));
}

export function loadMetaCheckpoint(file: string): MetaCheckpoint {
  const json = readJsonFile(file, 'not a readable meta-training checkpoint') as Record<string, any>;
  if (json?.format !== FORMAT) throw new FileFormatError(file, `expected format "${FORMAT}", found "${json?.format}"`);
  for (const key of ['step', 'rngState'] as const) {
    if (!Number.isInteger(json[key]) || json[key] < 0) throw new FileFormatError(file, `${key} must be a non-negative integer, found ${json[key]}`);
  }
  if (typeof json.adam !== 'object' || json.adam === null || !Number.isInteger(json.adam.step)) {
    throw new FileFormatError(file, 'adam: expected {step, first, second}');
  }
  const best = json.best;
  return {
    step: json.step,
    rngState: json.rngState,
    fingerprint: String(json.fingerprint),
    variables: decodeList(json.variables, file, 'variables'),
    adam: { step: json.adam.step, first: decodeList(json.adam.first, file, 'adam.first'), second: decodeList(json.adam.second, file, 'adam.second') },
    best: best ? { step: Number(best.step), accuracy: Number(best.accuracy), variables: decodeList(best.variables, file, 'best.variables') } : null,
  };
}
