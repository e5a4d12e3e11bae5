import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../paths/package-root';
import { ConfigError, FileFormatError } from '../errors';
import { writeJsonAtomic } from '../io/atomic-write';
import { readJsonFile } from '../io/read-json';

/** The kinds of independent jobs that can run in worker threads. */
export type ParallelJobKind = 'evaluate' | 'invert';
export const PARALLEL_JOB_KINDS: readonly ParallelJobKind[] = ['evaluate', 'invert'];

/** 'in-process': this process, wasm with 2 threads, jobs one after another; 'workers': 2 workers × 1 thread. */
export type ExecutionMode = 'in-process' | 'workers';

/** Wall seconds of the same workload run both ways (bench:parallel), where and when it was measured. */
export interface ExecutionTimings {
  inProcess: number;
  workers: number;
  measuredAt: string; // ISO date
  load: number; // 1-minute load average during the measurement
}

export type MeasuredTimings = Partial<Record<ParallelJobKind, ExecutionTimings>>;

export interface ExecutionChoice {
  mode: ExecutionMode;
  reason: string;
}

/** Overrides the measured choice: "workers", "in-process", or per kind "evaluate=in-process,invert=workers". */
export const PARALLEL_MODE_ENV = 'LORA_RECYCLE_PARALLEL';

/** Workers must be at least this much faster to be chosen (they cost start-up and memory). */
export const WORKERS_MARGIN = 0.95;

/**
 * Committed: the bench:parallel run of 2026-12-01 (2 shared CPUs, load 1.6–2.2; the 2026-12-04
 * run in bench/results/parallel.md was under load ≈10), used until bench:parallel has measured
 * this machine (timingsFile()).
 */
export const REFERENCE_TIMINGS: MeasuredTimings = {
  evaluate: { inProcess: 7.4, workers: 8.3, measuredAt: '2026-12-01T02:15:08.499Z', load: 2.2 },
  invert: { inProcess: 22.8, workers: 16.0, measuredAt: '2026-12-01T02:15:08.499Z', load: 2.2 },
};

/** Where bench:parallel caches the timings of this machine. */
export function timingsFile(): string {
  return path.join(packageRoot(), '.cache', 'parallel-timings.json');
}

const MODES: readonly ExecutionMode[] = ['in-process', 'workers'];

/** The modes an override text asks for, per kind. */
export function parseExecutionOverride(text: string): Partial<Record<ParallelJobKind, ExecutionMode>> {
  const bad = (detail: string): never => {
    throw new ConfigError(`${PARALLEL_MODE_ENV}: ${detail}; expected "workers", "in-process" or e.g. "evaluate=in-process,invert=workers"`);
  };
  const value = text.trim();
  if ((MODES as string[]).includes(value)) return Object.fromEntries(PARALLEL_JOB_KINDS.map((k) => [k, value as ExecutionMode]));
  const out: Partial<Record<ParallelJobKind, ExecutionMode>> = {};
  for (const part of value.split(',')) {
    const [kind, mode] = part.split('=').map((s) => s.trim());
    if (!(PARALLEL_JOB_KINDS as string[]).includes(kind)) bad(`unknown job kind "${kind}" in "${text}"`);
    if (!(MODES as string[]).includes(mode)) bad(`unknown mode "${mode}" for ${kind}`);
    out[kind as ParallelJobKind] = mode as ExecutionMode;
  }
  return out;
}

/**
 * The faster way to run jobs of `kind` given `timings` (workers only when at least 5 % faster),
 * unless `override` (the PARALLEL_MODE_ENV syntax) names a mode for that kind.
 */
export function chooseExecution(kind: ParallelJobKind, timings: MeasuredTimings, override?: string): ExecutionChoice {
  const forced = override ? parseExecutionOverride(override)[kind] : undefined;
  if (forced) return { mode: forced, reason: `${PARALLEL_MODE_ENV}=${override}` };
  const t = timings[kind];
  if (!t) return { mode: 'in-process', reason: `no measurement of ${kind} jobs` };
  const mode: ExecutionMode = t.workers < WORKERS_MARGIN * t.inProcess ? 'workers' : 'in-process';
  return {
    mode,
    reason: `measured ${t.measuredAt.slice(0, 10)} (load ${t.load.toFixed(1)}): in-process ${t.inProcess.toFixed(1)} s, 2 workers ${t.workers.toFixed(1)} s`,
  };
}

function checkTimings(json: unknown, file: string): MeasuredTimings {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new FileFormatError(file, 'expected a JSON object of timings per job kind');
  const out: MeasuredTimings = {};
  for (const [kind, t] of Object.entries(json as Record<string, any>)) {
    if (!(PARALLEL_JOB_KINDS as string[]).includes(kind)) throw new FileFormatError(file, `unknown job kind "${kind}"`);
    const ok =
      [t?.inProcess, t?.workers].every((s) => typeof s === 'number' && s > 0) &&
      typeof t.measuredAt === 'string' &&
      typeof t.load === 'number';
    if (!ok) throw new FileFormatError(file, `${kind}: expected {inProcess, workers (seconds > 0), measuredAt, load}`);
    out[kind as ParallelJobKind] = { inProcess: t.inProcess, workers: t.workers, measuredAt: t.measuredAt, load: t.load };
  }
  return out;
}

/** The timings bench:parallel cached in `file`, else REFERENCE_TIMINGS. */
export function measuredTimings(file: string = timingsFile()): MeasuredTimings {
  return fs.existsSync(file) ? { ...REFERENCE_TIMINGS, ...checkTimings(readJsonFile(file, 'not valid JSON'), file) } : REFERENCE_TIMINGS;
}

/** Caches this machine's timings (bench:parallel calls it). */
export function saveMeasuredTimings(timings: MeasuredTimings, file: string = timingsFile()): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeJsonAtomic(file, checkTimings(timings, file));
}

/** How to run jobs of `kind` here: $LORA_RECYCLE_PARALLEL, else the faster of this machine's (or the reference) timings. */
export function executionFor(kind: ParallelJobKind, options: { env?: NodeJS.ProcessEnv; file?: string } = {}): ExecutionChoice {
  return chooseExecution(kind, measuredTimings(options.file), (options.env ?? process.env)[PARALLEL_MODE_ENV]);
}

/** `explicit` when given (an entry point's `execution` option), else executionFor(kind). */
export function resolveExecution(kind: ParallelJobKind, explicit?: ExecutionMode): ExecutionChoice {
  if (explicit === undefined) return executionFor(kind);
  if (!(MODES as string[]).includes(explicit))
    throw new ConfigError(`execution must be "in-process" or "workers", found ${JSON.stringify(explicit)}`);
  return { mode: explicit, reason: 'execution option' };
}
