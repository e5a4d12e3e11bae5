import * as fs from 'fs';
import { assetPath } from '../paths';
import { FileFormatError, MissingResourceError } from '../errors';

/** CPU backends whose speed the engine benchmark measures (the GPU twin runs the same CPU kernels without a GPU). */
export type MeasuredBackend = 'tensorflow' | 'wasm';

/** One measured workload: a model at a batch size, one step's time per backend (bench/engine.ts). */
export interface MeasuredWorkload {
  model: string; // 'tiny' (the shipped ViT) or 'vit-b16' (CLIP ViT-B/16 at 224 px)
  mode: 'forward' | 'fwdbwd_lora' | 'fwdbwd_pixels';
  batch: number;
  flopsPerStep: number;
  ms: Partial<Record<MeasuredBackend | 'pytorch', number>>;
}

export interface MeasuredSpeeds {
  measured: string; // ISO date of the benchmark run
  source: string; // the report the numbers come from
  workloads: MeasuredWorkload[];
}

/** The committed measurements, written by `npm run bench:engine`. */
export const MEASURED_SPEEDS_ASSET = ['backend', 'speeds.json'] as const;

let cached: MeasuredSpeeds | undefined;

export function measuredSpeeds(): MeasuredSpeeds {
  cached ??= readMeasuredSpeeds(assetPath(...MEASURED_SPEEDS_ASSET));
  return cached;
}

/** Reads a measurements file; a missing or damaged one is an error that names the file and the fix. */
export function readMeasuredSpeeds(file: string): MeasuredSpeeds {
  if (!fs.existsSync(file)) throw new MissingResourceError(`${file} is missing: run npm run bench:engine to measure the backends`);
  let parsed: MeasuredSpeeds;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as MeasuredSpeeds;
  } catch (error) {
    throw new FileFormatError(file, `not valid JSON (${(error as Error).message}); run npm run bench:engine to measure the backends again`);
  }
  if (!Array.isArray(parsed?.workloads))
    throw new FileFormatError(file, 'expected a "workloads" list; run npm run bench:engine to measure the backends again');
  return parsed;
}

/** The sizes of a ViT that set its cost (a ViTConfig has them all). */
export interface ViTShape {
  imageSize: number;
  patchSize: number;
  channels: number;
  width: number;
  depth: number;
  mlpWidth: number;
  projectionDim: number;
}

/** What a run will mostly do: one forward+backward step of a model at a batch size. */
export interface Workload {
  model: ViTShape;
  batch: number;
}

/**
 * Multiply-adds ×2 of one image's forward pass: patch embedding, attention and MLP products, the
 * projection, and a rank-`loraRank` LoRA on q and v (elementwise ops not counted).
 */
export function forwardFlopsPerImage(c: ViTShape, loraRank = 0): number {
  const patches = (c.imageSize / c.patchSize) ** 2;
  const t = patches + 1;
  const d = c.width;
  const perLayer = 2 * t * d * d * 4 + 2 * 2 * t * t * d + 2 * 2 * t * d * c.mlpWidth + 2 * 2 * (2 * t * d * loraRank);
  return 2 * patches * c.patchSize ** 2 * c.channels * d + c.depth * perLayer + 2 * d * c.projectionDim;
}

/**
 * The measured fwd+bwd (LoRA) workload nearest to `workload` in FLOPs per step (log scale), and
 * the measured backends from fastest to slowest on it. Per-op overhead dominates small steps and
 * kernel speed large ones, so the nearest measured size is the best guide.
 */
export function fastestMeasured(
  workload: Workload,
  speeds: MeasuredSpeeds = measuredSpeeds(),
): { workload: MeasuredWorkload; order: MeasuredBackend[] } | undefined {
  const flops = 2 * workload.batch * forwardFlopsPerImage(workload.model, 4);
  const candidates = speeds.workloads.filter((w) => w.mode === 'fwdbwd_lora' && w.ms.tensorflow !== undefined && w.ms.wasm !== undefined);
  if (candidates.length === 0) return undefined;
  const distance = (w: MeasuredWorkload) => Math.abs(Math.log(w.flopsPerStep / flops));
  const nearest = candidates.reduce((best, w) => (distance(w) < distance(best) ? w : best));
  const order = (['tensorflow', 'wasm'] as const).slice().sort((a, b) => nearest.ms[a]! - nearest.ms[b]!);
  return { workload: nearest, order };
}
