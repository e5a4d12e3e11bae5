import { ConfigError } from '../errors';
import { MAX_STROKE_SEGMENTS, STROKE_WIDTH } from './canvas';
import { MAX_JITTER_COPIES } from './jitter';
import type { ViTConfig } from '../model/config';
import type { PruningSchedule } from '../model/token-pruning';
import type { LatentGenerator } from '../prior/glyph-vae';
import type { ImagePrior } from '../prior/image-prior';
import type { RunControl } from '../progress/events';

/** What `invertLora` accepts (method.md §1.3–1.4); defaults are the paper's. */
export interface InversionOptions extends RunControl {
  ways: number; // N: classes of the teacher's head
  shots: number; // K
  queries: number; // Q per class; the batch holds N·(K+Q) images, K+Q per class
  steps: number; // iterations (paper: 2000)
  learningRate?: number; // Adam lr, default 0.25 on pixels, 0.01 on strokes, 0.05 on a generator's codes
  betas?: [number, number]; // Adam (β1, β2), default (0.5, 0.99)
  priorWeight?: number; // weight of R_BN, default 0.01
  tvWeight?: number; // total-variation prior, default 0
  l2Weight?: number; // L2 prior, default 0
  diversityWeight?: number; // within-class feature repulsion R_div, default 0 (not in the paper)
  unadaptedWeight?: number; // w_0 on the head's CE over the backbone without the LoRA, default 0 (not in the paper)
  inkWeight?: number; // w_ink on the images' mean ink, default 0 (not in the paper)
  parameterSide?: number; // side of the optimised pixel grid, upsampled bilinearly to the image; default the image side
  strokes?: number; // > 0: optimise the strokes of line drawings, that many per image, instead of pixels (canvas.ts); default 0
  maxStrokeWidth?: number; // widest stroke σ in pixels of a 32-pixel side, in [0.5, 16]; default 3 (canvas.ts STROKE_WIDTH)
  strokeSegments?: number; // straight segments of each stroke, a polyline; default 1 (canvas.ts)
  generator?: LatentGenerator | null; // draw the images with this decoder from latent codes (canvas.ts latentCanvas) instead of pixels or strokes; default none
  maxShift?: number; // largest roll as a fraction of the side, default 1/8
  minCropScale?: number; // random-resized crop of side s·H, s in [minCropScale, 1], each step; default 1 (none, the paper's)
  jitterCopies?: number; // J ≥ 1 jittered copies of the batch per step, the loss averaged over them; default 1 (the paper's)
  flip?: boolean; // horizontal flip with p = 0.5, default true
  pruning?: PruningSchedule; // {layer: ratio}, default {} (no pruning)
  pruneFrom?: number; // fraction of the iterations after which pruning is on, default 0.25
  seed?: number; // pixel initialisation and jitter, default 0
  snapshotEvery?: number; // keep the images every k steps (default: no snapshots)
  snapshotSide?: number; // side of snapshot images, default min(imageSize, 64)
  classNames?: string[]; // N names for displays, default "class i"
  run?: string; // run id in events, default 'inversion'
}

/** The options with every default filled in. */
export type ResolvedInversionOptions = Required<Omit<InversionOptions, 'onEvent' | 'signal' | 'snapshotEvery'>> &
  Pick<InversionOptions, 'onEvent' | 'signal'> & { snapshotEvery: number | null };

const isCount = (v: number, min: number) => Number.isInteger(v) && v >= min;

function check(ok: boolean, message: string): void {
  if (!ok) throw new ConfigError(`invertLora: ${message}`);
}

/** Pruning for inversion: each layer a block index, each ratio strictly inside (0, 1). */
export function validateInversionPruning(pruning: PruningSchedule, depth: number): void {
  for (const [layerText, ratio] of Object.entries(pruning)) {
    const layer = Number(layerText);
    check(Number.isInteger(layer) && layer >= 0 && layer < depth, `pruning layer ${layerText} is not a block index in 0..${depth - 1}`);
    check(ratio > 0 && ratio < 1, `pruning ratio of layer ${layer} must be in (0, 1), found ${ratio}`);
  }
}

/** Fills defaults and throws a ConfigError naming the first option that does not fit. */
export function resolveInversionOptions(options: InversionOptions, config: ViTConfig, prior: ImagePrior | null): ResolvedInversionOptions {
  const { ways, shots, queries, steps } = options;
  check(isCount(ways, 1), `ways must be a positive integer, found ${ways}`);
  check(isCount(shots, 1), `shots must be a positive integer, found ${shots}`);
  check(isCount(queries, 0), `queries must be a non-negative integer, found ${queries}`);
  check(isCount(steps, 0), `steps must be a non-negative integer, found ${steps}`);
  check(
    config.channels === 3,
    `images are normalised with CLIP's RGB statistics, so the backbone needs 3 channels, found ${config.channels}`,
  );
  const resolved: ResolvedInversionOptions = {
    ways,
    shots,
    queries,
    steps,
    learningRate: options.learningRate ?? (options.generator ? 0.05 : (options.strokes ?? 0) > 0 ? 0.01 : 0.25),
    betas: options.betas ?? [0.5, 0.99],
    priorWeight: options.priorWeight ?? 0.01,
    tvWeight: options.tvWeight ?? 0,
    l2Weight: options.l2Weight ?? 0,
    diversityWeight: options.diversityWeight ?? 0,
    unadaptedWeight: options.unadaptedWeight ?? 0,
    inkWeight: options.inkWeight ?? 0,
    parameterSide: options.parameterSide ?? config.imageSize,
    strokes: options.strokes ?? 0,
    maxStrokeWidth: options.maxStrokeWidth ?? STROKE_WIDTH.most,
    strokeSegments: options.strokeSegments ?? 1,
    generator: options.generator ?? null,
    maxShift: options.maxShift ?? 1 / 8,
    minCropScale: options.minCropScale ?? 1,
    jitterCopies: options.jitterCopies ?? 1,
    flip: options.flip ?? true,
    pruning: options.pruning ?? {},
    pruneFrom: options.pruneFrom ?? 0.25,
    seed: options.seed ?? 0,
    snapshotEvery: options.snapshotEvery ?? null,
    snapshotSide: options.snapshotSide ?? Math.min(config.imageSize, 64),
    classNames: options.classNames ?? Array.from({ length: ways }, (_, i) => `class ${i}`),
    run: options.run ?? 'inversion',
    onEvent: options.onEvent,
    signal: options.signal,
  };
  check(resolved.learningRate > 0, `learningRate must be > 0, found ${resolved.learningRate}`);
  check(
    resolved.betas.length === 2 && resolved.betas.every((b) => b >= 0 && b < 1),
    `betas must be two numbers in [0, 1), found [${resolved.betas}]`,
  );
  for (const key of ['priorWeight', 'tvWeight', 'l2Weight', 'diversityWeight', 'unadaptedWeight', 'inkWeight'] as const) {
    check(Number.isFinite(resolved[key]) && resolved[key] >= 0, `${key} must be a finite number ≥ 0, found ${resolved[key]}`);
  }
  check(resolved.maxShift >= 0 && resolved.maxShift <= 0.5, `maxShift must be in [0, 0.5], found ${resolved.maxShift}`);
  check(
    isCount(resolved.parameterSide, 2) && resolved.parameterSide <= config.imageSize,
    `parameterSide must be an integer in 2..${config.imageSize} (the image side), found ${resolved.parameterSide}`,
  );
  check(isCount(resolved.strokes, 0), `strokes must be a non-negative integer, found ${resolved.strokes}`);
  check(
    Number.isFinite(resolved.maxStrokeWidth) &&
      resolved.maxStrokeWidth >= STROKE_WIDTH.least &&
      resolved.maxStrokeWidth <= STROKE_WIDTH.largestMost,
    `maxStrokeWidth must be in [${STROKE_WIDTH.least}, ${STROKE_WIDTH.largestMost}] pixels of a 32-pixel side, found ${resolved.maxStrokeWidth}`,
  );
  check(
    isCount(resolved.strokeSegments, 1) && resolved.strokeSegments <= MAX_STROKE_SEGMENTS,
    `strokeSegments must be an integer in 1..${MAX_STROKE_SEGMENTS}, found ${resolved.strokeSegments}`,
  );
  check(
    resolved.strokes === 0 || resolved.parameterSide === config.imageSize,
    `parameterSide sets the grid of free pixels; it does not apply with strokes (${resolved.strokes})`,
  );
  if (resolved.generator) {
    check(resolved.strokes === 0, `a generator draws the images; strokes (${resolved.strokes}) do not apply with it`);
    check(resolved.parameterSide === config.imageSize, `parameterSide sets the grid of free pixels; it does not apply with a generator`);
    check(
      resolved.generator.config.imageSize === config.imageSize,
      `the generator draws ${resolved.generator.config.imageSize}-pixel images but the backbone takes ${config.imageSize}`,
    );
  }
  check(resolved.minCropScale > 0 && resolved.minCropScale <= 1, `minCropScale must be in (0, 1], found ${resolved.minCropScale}`);
  check(
    isCount(resolved.jitterCopies, 1) && resolved.jitterCopies <= MAX_JITTER_COPIES,
    `jitterCopies must be an integer in 1..${MAX_JITTER_COPIES}, found ${resolved.jitterCopies}`,
  );
  check(resolved.pruneFrom >= 0 && resolved.pruneFrom <= 1, `pruneFrom must be in [0, 1], found ${resolved.pruneFrom}`);
  validateInversionPruning(resolved.pruning, config.depth);
  check(
    resolved.snapshotEvery === null || isCount(resolved.snapshotEvery, 1),
    `snapshotEvery must be a positive integer, found ${resolved.snapshotEvery}`,
  );
  check(isCount(resolved.snapshotSide, 1), `snapshotSide must be a positive integer, found ${resolved.snapshotSide}`);
  check(resolved.classNames.length === ways, `classNames must name the ${ways} ways, found ${resolved.classNames.length} names`);
  if (prior) {
    const { imageSize, channels } = prior.config;
    check(
      imageSize === config.imageSize && channels === config.channels,
      `the prior CNN takes [${imageSize}, ${imageSize}, ${channels}] images, the backbone [${config.imageSize}, ${config.imageSize}, ${config.channels}]`,
    );
  }
  return resolved;
}

/** 0-based iteration from which the pruned forward is used: ⌊pruneFrom · steps⌋; null without pruning. */
export function pruningStartIteration(options: Pick<ResolvedInversionOptions, 'pruning' | 'pruneFrom' | 'steps'>): number | null {
  return Object.keys(options.pruning).length === 0 ? null : Math.floor(options.pruneFrom * options.steps);
}

/** Targets 0..N−1, each repeated K+Q times (class-major). */
export function inversionTargets(ways: number, perClass: number): number[] {
  return Array.from({ length: ways * perClass }, (_, i) => Math.floor(i / perClass));
}
