import * as path from 'path';
import type { DatasetSpec } from '../data/dataset-spec';
import type { ImageDataset } from '../data/dataset';
import { CancelledError, CompatibilityError } from '../errors';
import type { VisionTransformer } from '../model/vision-transformer';
import type { PoolOutcome, PretuneLoraJob, PretuneLoraResult } from '../parallel';
import type { RunControl } from '../progress/events';
import type { RunConfig } from './config';
import { backboneFile } from './invert-zoo';
import { loadZoo, planZoo, writeZooManifest, zooLoraId, type Zoo, type ZooBuildOptions, type ZooPlan } from '../zoo';

/** One pretune-lora job per LoRA of the plan not yet in its manifest, writing `<dir>/<id>.safetensors`. */
export function zooTuningJobs(plan: ZooPlan, files: { backbone: string; dataset: DatasetSpec }, dir: string): PretuneLoraJob[] {
  return plan.tasks.slice(plan.manifest.entries.length).map((task, k) => {
    const index = plan.manifest.entries.length + k;
    const id = zooLoraId(index);
    return {
      kind: 'pretune-lora',
      id,
      backbone: files.backbone,
      dataset: files.dataset,
      task,
      index,
      recipe: plan.recipe,
      output: path.join(dir, `${id}.safetensors`),
    };
  });
}

/** Runs pretune-lora jobs and gives runInWorkers' outcome (runJobsAs, or src/queue's runJobsOnQueue). */
export type ZooJobRunner = (jobs: PretuneLoraJob[], control: RunControl) => Promise<PoolOutcome<PretuneLoraResult>>;

/**
 * buildZoo with its LoRAs tuned as pretune-lora jobs by `runner` (worker threads, or worker
 * processes through a Redis): the same plan (planZoo: tasks, recipe, resumption from zoo.json),
 * the same LoRA files (tuneZooLora), the same zoo.json, written once the jobs have ended with
 * every LoRA finished in zoo order (a stopped run keeps the finished prefix, then throws
 * CancelledError; on the queue the others' results are reused by the next run). `files.backbone`
 * must hold `backbone` (checked: every job reports the fingerprint it tuned on) and
 * `files.dataset` must load `dataset`. A zoo step event follows each LoRA's last tuning step.
 */
export async function buildZooThroughJobs(
  runner: ZooJobRunner,
  backbone: VisionTransformer,
  dataset: ImageDataset,
  files: { backbone: string; dataset: DatasetSpec },
  dir: string,
  options: ZooBuildOptions,
): Promise<Zoo> {
  const plan = planZoo(backbone, dataset, dir, options);
  const jobs = zooTuningJobs(plan, files, dir);
  const ids = new Set(jobs.map((j) => j.id));
  let done = plan.manifest.entries.length;
  const outcome = await runner(jobs, {
    signal: options.signal,
    onEvent: (event) => {
      options.onEvent?.(event);
      if (event.kind === 'step' && ids.has(event.run) && event.step === event.totalSteps) {
        options.onEvent?.({ kind: 'step', run: 'zoo', step: ++done, totalSteps: options.size, metrics: { loss: event.metrics.loss } });
      }
    },
  });
  for (const [i, result] of outcome.results.entries()) {
    if (result === null) break;
    if (result.fingerprint !== plan.fingerprint) {
      throw new CompatibilityError(
        `LoRA ${result.id} was tuned on backbone ${result.fingerprint} (${files.backbone}), not on this one (${plan.fingerprint}); every worker must read the same backbone file`,
      );
    }
    plan.manifest.entries.push({
      id: jobs[i].id,
      format: 'lora',
      path: path.basename(jobs[i].output),
      classIds: result.classIds,
      record: result.record,
    });
  }
  writeZooManifest(dir, plan.manifest);
  const finished = plan.manifest.entries.length;
  if (finished < options.size) {
    throw new CancelledError(`zoo stopped after ${finished} of ${options.size} LoRAs (in ${dir}); run the same command again to finish it`);
  }
  return loadZoo(dir, backbone);
}

/**
 * buildZooThroughJobs on the queues of `redis` (src/queue: `lora-recycle worker` processes on any
 * host). A random backbone is saved in the zoo directory (`<dir>/.backbone/`), where the workers
 * find it as they find `dir`: every path of a job must name the same file on every worker's host.
 * A job that fails after its retries throws a WorkerError naming it (the finished LoRAs stay).
 */
export async function buildZooOnQueue(
  backbone: VisionTransformer,
  dataset: ImageDataset,
  spec: DatasetSpec,
  config: RunConfig,
  dir: string,
  options: ZooBuildOptions & { redis: string },
): Promise<Zoo> {
  const { runJobsOnQueue, failuresError } = await import('../queue');
  const files = { backbone: backboneFile(config, backbone, path.join(dir, '.backbone')), dataset: spec };
  return buildZooThroughJobs(
    async (jobs, control) => {
      const outcome = await runJobsOnQueue(jobs, { redis: options.redis, ...control });
      const failed = failuresError(jobs, outcome);
      if (failed) throw failed;
      return outcome;
    },
    backbone,
    dataset,
    files,
    dir,
    options,
  );
}
