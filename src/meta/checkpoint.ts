import type * as tf from '@tensorflow/tfjs';
import type { Adapter, AdapterSite } from '../model/adapter-hook';
import { FileFormatError } from '../errors';
import { writeFileAtomic } from '../io/atomic-write';
import { PROJECTION_NAMES } from '../model/weights';
import type { AdamMoments } from '../optim/adam';
import { readJsonFile } from '../io/read-json';

/** One optimisation step of a meta-training run. */
export interface MetaTrainStep {
  step: number;
  kind: 'single' | 'interpolated';
  loss: number;
  lr: number;
  accuracy: number; // of the student on the episode's query
}

/** One validation of the meta-LoRA. */
export interface MetaValidation {
  step: number;
  accuracy: number;
}

/** The best meta-LoRA seen so far, selected on the validation split. */
export interface BestSoFar {
  step: number;
  accuracy: number;
  variables: Float32Array[];
}

/**
 * Where the meta-LoRA's variables go when it is a LoRA: variables 2i and 2i+1 are A [in, r] and
 * B [r, out] of sites[i], ΔW = scale·A·B. Null for other adapters.
 */
export interface MetaLoraLayout {
  rank: number;
  scale: number;
  sites: AdapterSite[];
}

/**
 * Everything a meta-training run needs to continue exactly where it stopped, and its history.
 * Two meta-LoRAs: `last` (after the last step done; training continues from it) and `best` (the
 * highest validation accuracy so far; the run's result). The file names the one that is the
 * run's result in `selected`: "best" when validation ran, else "last".
 */
export interface MetaCheckpoint {
  step: number; // optimisation steps done
  rngState: number;
  last: Float32Array[]; // the meta-LoRA's trainable variables after `step`, in trainableVariables() order
  adam: AdamMoments;
  best: BestSoFar | null;
  history: MetaTrainStep[]; // every step of the run, across resumes
  validation: MetaValidation[];
  lora: MetaLoraLayout | null;
  logitScale: number; // s of the losses' softmax(−s·d), as calibrated or given: a resume keeps it
  /** Describes the run (shapes, options); a resume with a different run is refused. */
  fingerprint: string;
}

export const META_CHECKPOINT_FORMAT = 'lora-recycle/meta-checkpoint@2';

/** The layout of `adapter` when its trainable variables are exactly the A, B factors of its sites in order; else null. */
export function metaLoraLayout(adapter: Adapter, variables: readonly tf.Variable[]): MetaLoraLayout | null {
  if (!adapter.lowRankFactors || variables.length !== 2 * adapter.sites.length) return null;
  let scale: number | undefined;
  for (const [i, site] of adapter.sites.entries()) {
    const factors = adapter.lowRankFactors(site);
    if (!factors || factors.a !== variables[2 * i] || factors.b !== variables[2 * i + 1]) return null;
    if (scale !== undefined && factors.scale !== scale) return null;
    scale = factors.scale;
  }
  if (scale === undefined) return null;
  return { rank: variables[0].shape[1] as number, scale, sites: adapter.sites.map((s) => ({ layer: s.layer, projection: s.projection })) };
}

const encode = (a: Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function decode(text: unknown, file: string, what: string): Float32Array {
  if (typeof text !== 'string') throw new FileFormatError(file, `${what}: expected a base64 string, found ${typeof text}`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength % 4 !== 0)
    throw new FileFormatError(file, `${what}: ${bytes.byteLength} bytes is not a whole number of float32 values`);
  const copy = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}

function decodeList(list: unknown, file: string, what: string): Float32Array[] {
  if (!Array.isArray(list)) throw new FileFormatError(file, `${what}: expected a list, found ${typeof list}`);
  return list.map((item, i) => decode(item, file, `${what}[${i}]`));
}

/** JSON has no NaN: a NaN loss is written as null and read back as NaN. */
const metric = (value: unknown, file: string, what: string): number => {
  if (value === null) return Number.NaN;
  if (typeof value !== 'number') throw new FileFormatError(file, `${what}: expected a number, found ${JSON.stringify(value)}`);
  return value;
};

function isStep(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1;
}

function readHistory(json: unknown, file: string): MetaTrainStep[] {
  if (!Array.isArray(json)) throw new FileFormatError(file, 'history: expected a list of steps');
  return json.map((h, i) => {
    if (!isStep(h?.step) || (h.kind !== 'single' && h.kind !== 'interpolated')) {
      throw new FileFormatError(file, `history[${i}]: expected {step, kind: "single" | "interpolated", loss, lr, accuracy}`);
    }
    return {
      step: h.step,
      kind: h.kind,
      loss: metric(h.loss, file, `history[${i}].loss`),
      lr: metric(h.lr, file, `history[${i}].lr`),
      accuracy: metric(h.accuracy, file, `history[${i}].accuracy`),
    };
  });
}

function readValidation(json: unknown, file: string): MetaValidation[] {
  if (!Array.isArray(json)) throw new FileFormatError(file, 'validation: expected a list');
  return json.map((v, i) => {
    if (!isStep(v?.step)) throw new FileFormatError(file, `validation[${i}]: expected {step, accuracy}`);
    return { step: v.step, accuracy: metric(v.accuracy, file, `validation[${i}].accuracy`) };
  });
}

function readLayout(json: any, file: string): MetaLoraLayout | null {
  if (json === null) return null;
  const sitesOk =
    Array.isArray(json?.sites) &&
    json.sites.every((s: any) => Number.isInteger(s?.layer) && s.layer >= 0 && PROJECTION_NAMES.includes(s.projection));
  if (!Number.isInteger(json?.rank) || json.rank < 1 || typeof json.scale !== 'number' || !sitesOk) {
    throw new FileFormatError(file, 'lora: expected null or {rank, scale, sites: [{layer, projection}]}');
  }
  return { rank: json.rank, scale: json.scale, sites: json.sites.map((s: AdapterSite) => ({ layer: s.layer, projection: s.projection })) };
}

export function saveMetaCheckpoint(file: string, checkpoint: MetaCheckpoint): void {
  const json = {
    format: META_CHECKPOINT_FORMAT,
    step: checkpoint.step,
    rngState: checkpoint.rngState,
    fingerprint: checkpoint.fingerprint,
    selected: checkpoint.best ? 'best' : 'last',
    lora: checkpoint.lora,
    logitScale: checkpoint.logitScale,
    last: { step: checkpoint.step, variables: checkpoint.last.map(encode) },
    best: checkpoint.best && {
      step: checkpoint.best.step,
      accuracy: checkpoint.best.accuracy,
      variables: checkpoint.best.variables.map(encode),
    },
    adam: { step: checkpoint.adam.step, first: checkpoint.adam.first.map(encode), second: checkpoint.adam.second.map(encode) },
    history: checkpoint.history,
    validation: checkpoint.validation,
  };
  writeFileAtomic(file, JSON.stringify(json));
}

export function loadMetaCheckpoint(file: string): MetaCheckpoint {
  const json = readJsonFile(file, 'not a readable meta-training checkpoint') as Record<string, any>;
  if (json?.format !== META_CHECKPOINT_FORMAT) {
    throw new FileFormatError(
      file,
      `expected format "${META_CHECKPOINT_FORMAT}", found "${json?.format}"` +
        (json?.format === 'lora-recycle/meta-checkpoint@1'
          ? ' (written by an older version without the run history; delete it, or run with --no-resume / resume: false, to start again)'
          : ''),
    );
  }
  for (const key of ['step', 'rngState'] as const) {
    if (!Number.isInteger(json[key]) || json[key] < 0)
      throw new FileFormatError(file, `${key} must be a non-negative integer, found ${json[key]}`);
  }
  if (typeof json.adam !== 'object' || json.adam === null || !Number.isInteger(json.adam.step)) {
    throw new FileFormatError(file, 'adam: expected {step, first, second}');
  }
  if (typeof json.last !== 'object' || json.last === null || json.last.step !== json.step) {
    throw new FileFormatError(file, `last: expected {step: ${json.step}, variables}`);
  }
  const best = json.best;
  const logitScale = json.logitScale ?? 1; // absent in checkpoints of runs at the paper's s = 1
  if (!(typeof logitScale === 'number' && logitScale > 0))
    throw new FileFormatError(file, `logitScale must be a positive number, found ${JSON.stringify(json.logitScale)}`);
  return {
    logitScale,
    step: json.step,
    rngState: json.rngState,
    fingerprint: String(json.fingerprint),
    last: decodeList(json.last.variables, file, 'last.variables'),
    adam: {
      step: json.adam.step,
      first: decodeList(json.adam.first, file, 'adam.first'),
      second: decodeList(json.adam.second, file, 'adam.second'),
    },
    best: best
      ? { step: Number(best.step), accuracy: Number(best.accuracy), variables: decodeList(best.variables, file, 'best.variables') }
      : null,
    history: readHistory(json.history, file),
    validation: readValidation(json.validation, file),
    lora: readLayout(json.lora, file),
  };
}
