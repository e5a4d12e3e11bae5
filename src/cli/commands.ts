import type { ParseArgsConfig } from 'util';
import type { RunControl } from '../progress/events';

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Parsed option values of a subcommand (strings and booleans; `--x a --x b` only where declared multiple). */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What a subcommand may use: progress events, cancellation, and where to print results. */
export interface CommandContext extends RunControl {
  print(text: string): void;
}

export interface Command {
  name: string;
  summary: string;
  usage: string; // the argument part of the usage line
  options: OptionSpec;
  run(values: OptionValues, context: CommandContext): Promise<void>;
}

const config = { config: { type: 'string', short: 'c' } } as const;
const backend = { backend: { type: 'string' } } as const;
const redis = { redis: { type: 'string' } } as const;
/** A local Hugging Face CLIP folder (config.json + model.safetensors) instead of the configuration's backbone. */
const backbone = { backbone: { type: 'string' } } as const;
const data = { data: { type: 'string' } } as const; // an image folder (docs/your-own-images.md) or a data set name

/** Option declarations of every subcommand (their handlers live in src/cli/handlers.ts). */
export const COMMAND_SPECS: Omit<Command, 'run'>[] = [
  {
    name: 'zoo',
    summary: 'pre-tune a zoo of LoRAs (rank 4 on q,v) with their heads on 5-way base-class tasks',
    usage: '--config configs/tiny.json [--backbone <HF CLIP dir>] --out <dir> [--size N] [--data <image folder>] [--redis URL]',
    options: { ...config, ...backend, ...redis, ...data, ...backbone, out: { type: 'string', short: 'o' }, size: { type: 'string' } },
  },
  {
    name: 'invert',
    summary: 'invert LoRAs of a zoo into surrogate images (PNGs, masks, masked images, result files)',
    usage:
      '--config configs/tiny.json [--backbone <HF CLIP dir>] --zoo <dir> --out <dir> [--steps N] [--pruning layer:ratio,...] [--limit N] [--redis URL]',
    options: {
      ...config,
      ...backend,
      ...redis,
      ...backbone,
      zoo: { type: 'string' },
      out: { type: 'string', short: 'o' },
      steps: { type: 'string' },
      pruning: { type: 'string' },
      limit: { type: 'string' },
    },
  },
  {
    name: 'meta-train',
    summary:
      'meta-train a meta-LoRA on surrogate episodes (checkpoints; resumes when interrupted); writes meta-lora.safetensors and the PEFT adapter directory meta-lora-peft/',
    usage:
      '--config configs/tiny.json [--backbone <HF CLIP dir>] --zoo <dir> --surrogates <dir> --out <dir> [--steps N] [--data <image folder>] [--no-resume]',
    options: {
      ...config,
      ...backend,
      ...data,
      ...backbone,
      zoo: { type: 'string' },
      surrogates: { type: 'string' },
      out: { type: 'string', short: 'o' },
      steps: { type: 'string' },
      'no-resume': { type: 'boolean' },
    },
  },
  {
    name: 'evaluate',
    summary: 'evaluate methods on fixed few-shot episodes (mean ± 95 % interval) and write metrics JSON',
    usage:
      '--config configs/tiny.json [--backbone <HF CLIP dir>] [--zoo <dir>] [--meta <lora file or PEFT dir>] [--methods nn,lora-recycle,...] [--shots 1] [--episodes N] [--set emoji-novel] [--data <image folder>] --out <metrics.json> [--redis URL]',
    options: {
      ...config,
      ...backend,
      ...redis,
      ...data,
      ...backbone,
      zoo: { type: 'string' },
      meta: { type: 'string' },
      methods: { type: 'string' },
      shots: { type: 'string' },
      episodes: { type: 'string' },
      set: { type: 'string' },
      out: { type: 'string', short: 'o' },
    },
  },
  {
    name: 'reproduce',
    summary:
      'run the Table 2/3 and 4/5 analogues and write reports/<profile>.json and .md (<profile>-<configuration name> for a --config other than configs/tiny.json; --estimate: only estimate the run time from a quick report)',
    usage:
      '--profile quick|standard|full [--config configs/glyph-domain.json] [--data <image folder>] [--out reports] [--work <dir>] [--redis URL] [--estimate [--from reports/quick.json]]',
    options: {
      ...config,
      ...backend,
      ...redis,
      ...data,
      profile: { type: 'string', short: 'p' },
      out: { type: 'string', short: 'o' },
      work: { type: 'string' },
      estimate: { type: 'boolean' },
      from: { type: 'string' },
    },
  },
  {
    name: 'worker',
    summary:
      'run queued jobs (zoo LoRAs, inversions, evaluations) of runs started with --redis, until interrupted (SIGINT/SIGTERM: finish the running jobs, then exit)',
    usage: '--redis redis://host:6379 [--concurrency N] [--backend cpu|wasm|tensorflow|...] [--lock-ms 30000] [--stalled-ms 30000]',
    options: { ...backend, ...redis, concurrency: { type: 'string' }, 'lock-ms': { type: 'string' }, 'stalled-ms': { type: 'string' } },
  },
  {
    name: 'queue-clean',
    summary:
      "remove ended jobs of this project's queues from Redis: finished ones (a later run recomputes them), with --failed failed ones too, with --all every job (refused while one runs)",
    usage: '--redis redis://host:6379 [--older-than HOURS] [--failed] [--all]',
    options: { ...redis, 'older-than': { type: 'string' }, failed: { type: 'boolean' }, all: { type: 'boolean' } },
  },
];
