import { ConfigError } from '../errors';
import type { DatasetSpec } from '../data/dataset-spec';
import type { Episode, EpisodeList } from '../data/episodes';
import type { PrototypeDistance } from '../evaluation/prototypes';
import type { MethodName, MethodOptions } from '../baselines';
import type { InversionOptions, InversionStep } from '../inversion';
import type { TuningRecord, ZooRecipe } from '../zoo';

/**
 * Jobs a worker thread can run. Every field is plain data (structured-clone safe): models and
 * data are named by file, so each worker loads its own copy with its own TensorFlow.js.
 */

/** Prototype accuracy of each episode of `episodes` (method.md §1.6), backbone + optional LoRA. */
export interface EvaluateEpisodesJob {
  kind: 'evaluate-episodes';
  id: string; // names the job in progress events (their `run`) and in errors
  backbone: string; // HF CLIP checkpoint: directory or model.safetensors (src/io saveHfClipVision)
  lora?: string; // LoRA file (src/io saveLoraFile) added inside the forward; its head is not used
  dataset: DatasetSpec; // where the images of the episodes come from
  episodes: EpisodeList; // the episodes to evaluate, e.g. a contiguous slice of a longer list
  distance?: PrototypeDistance;
  batchSize?: number; // images per forward call (episodeAccuracy's batchSize)
}

export interface EvaluateEpisodesResult {
  kind: 'evaluate-episodes';
  id: string;
  accuracies: number[]; // per episode, in list order
  episodes: number; // episodes of the job
}

/** Options of invertLora that can cross a thread boundary (no listener, no signal, no model: the job names the generator's file). */
export type InversionJobOptions = Omit<InversionOptions, 'onEvent' | 'signal' | 'generator'>;

/** LoRA inversion (method.md §1.3–1.4) of one LoRA file; the result is written to `output`. */
export interface InvertLoraJob {
  kind: 'invert-lora';
  id: string;
  backbone: string;
  lora: string; // LoRA file with its task head (the teacher)
  prior?: string; // image prior CNN (src/prior savePrior); omitted = no BatchNorm prior
  generator?: string; // glyph VAE (src/prior saveGlyphVae) whose decoder draws the images; omitted = pixels or strokes
  options: InversionJobOptions; // `run` defaults to the job id; `classNames` to the LoRA's class ids
  output: string; // directory of the surrogate set, replaced atomically (src/surrogate writeSurrogateSet)
}

export interface InvertLoraSummary {
  kind: 'invert-lora';
  id: string;
  output: string;
  images: number; // N·(K+Q)
  steps: number; // iterations done
  totalSteps: number;
  lastStep: InversionStep | null; // losses of the last iteration
  meanTargetConfidence: number; // teacher p(y | x) on the final images, averaged
  iterationsPerSecond: number;
}

/**
 * One method of the comparison (src/baselines) on a block of an episode list: evaluateMethod's
 * work on those episodes, each tuned with the seed it has in the whole list.
 */
export interface EvaluateMethodJob {
  kind: 'evaluate-method';
  id: string;
  method: MethodName;
  backbone: string;
  zoo?: string; // zoo directory (src/zoo loadZoo): the compositions' LoRAs
  meta?: string; // meta-LoRA file (lora-recycle)
  dataset: DatasetSpec;
  episodes: EpisodeList; // the block
  first: number; // index of the block's first episode in the whole list
  options: Omit<MethodOptions, 'seed'> & { seed: number }; // episode i of the list is tuned with seed + i
}

export interface EvaluateMethodResult {
  kind: 'evaluate-method';
  id: string;
  method: MethodName;
  accuracies: number[]; // per episode of the block, in order
  seconds: number; // the worker's time on the block
}

/** Pre-tuning of LoRA `index` of a zoo (method.md §1.1, src/zoo tuneZooLora); the LoRA file is written to `output`. */
export interface PretuneLoraJob {
  kind: 'pretune-lora';
  id: string; // the LoRA's id in the zoo ("lora-0007")
  backbone: string;
  dataset: DatasetSpec; // the images of the task
  task: Episode; // N-way task: support = training images, query = held-out images
  index: number; // position in the zoo; the LoRA's seed is recipe.seed + index
  recipe: ZooRecipe; // the zoo's tuning settings, also written into the file
  output: string; // LoRA file, written atomically
}

export interface PretuneLoraResult {
  kind: 'pretune-lora';
  id: string;
  output: string;
  fingerprint: string; // of the backbone the worker tuned on (backboneFingerprint)
  classIds: string[];
  record: TuningRecord;
}

export type ParallelJob = EvaluateEpisodesJob | InvertLoraJob | PretuneLoraJob | EvaluateMethodJob;
export type JobResult = EvaluateEpisodesResult | InvertLoraSummary | PretuneLoraResult | EvaluateMethodResult;

/** The result type of a job type. */
export type ResultOf<J extends ParallelJob> = J extends EvaluateEpisodesJob
  ? EvaluateEpisodesResult
  : J extends InvertLoraJob
    ? InvertLoraSummary
    : J extends PretuneLoraJob
      ? PretuneLoraResult
      : J extends EvaluateMethodJob
        ? EvaluateMethodResult
        : never;

/** How errors and events name a job: `"id" (job i, kind)`. */
export function describeJob(job: ParallelJob, index: number): string {
  return `"${job.id}" (job ${index}, ${job.kind})`;
}

const KINDS: readonly string[] = ['evaluate-episodes', 'invert-lora', 'pretune-lora', 'evaluate-method'];

/** Checks what can be checked before any worker starts: kinds, ids (unique), file fields. */
export function validateJobs(jobs: readonly ParallelJob[]): void {
  const ids = new Set<string>();
  jobs.forEach((job, index) => {
    const where = `runInWorkers: job ${index}`;
    if (typeof job !== 'object' || job === null || !KINDS.includes(job.kind)) {
      throw new ConfigError(
        `${where}: kind must be one of ${KINDS.join(', ')}, found ${JSON.stringify((job as { kind?: unknown } | null)?.kind)}`,
      );
    }
    if (typeof job.id !== 'string' || job.id === '')
      throw new ConfigError(`${where}: id must be a non-empty string, found ${JSON.stringify(job.id)}`);
    if (ids.has(job.id)) throw new ConfigError(`${where}: id "${job.id}" is used by an earlier job; ids name jobs in events and errors`);
    ids.add(job.id);
    const files: [string, unknown][] =
      job.kind === 'invert-lora'
        ? [
            ['backbone', job.backbone],
            ['lora', job.lora],
            ['output', job.output],
          ]
        : job.kind === 'pretune-lora'
          ? [
              ['backbone', job.backbone],
              ['output', job.output],
            ]
          : [['backbone', job.backbone]];
    for (const [name, value] of files) {
      if (typeof value !== 'string' || value === '')
        throw new ConfigError(`${where} "${job.id}": ${name} must be a path, found ${JSON.stringify(value)}`);
    }
  });
}
