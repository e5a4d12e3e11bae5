import * as path from 'path';
import type { DatasetSpec } from '../data/dataset-spec';
import type { ImageDataset } from '../data/dataset';
import { CancelledError, CompatibilityError } from '../errors';
import type { VisionTransformer } from '../model/vision-transformer';
import type { JobRunner, PretuneLoraJob } from '../parallel';
import type { RunConfig } from './config';
import { withJobBackbone } from './job-backbone';
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

/**
 * buildZoo with its LoRAs tuned as pretune-lora jobs by `runner` (worker threads, or worker
 * processes through a Redis): the same plan (planZoo: tasks, recipe, resumption from zoo.json),
 * the same LoRA files (tuneZooLora), the same zoo.json, written once the jobs have ended with
 * every LoRA finished in zoo order (a stopped run keeps the finished prefix, then throws
 * CancelledError; on the queue the others' results are reused by the next run). The jobs read the
 * backbone from withJobBackbone (a random one saved as `<dir>/.backbone/` for a remote runner) and
 * the data set from `spec`, which must load `dataset`; every job reports the fingerprint of the
 * backbone it tuned on, checked against `backbone`. A zoo step event follows each LoRA's last
 * tuning step. A job that fails rejects, naming it (the finished LoRA files stay).
 */
export function buildZooAsJobs(
  runner: JobRunner,
  backbone: VisionTransformer,
  dataset: ImageDataset,
  spec: DatasetSpec,
  config: RunConfig,
  dir: string,
  options: ZooBuildOptions,
): Promise<Zoo> {
  return withJobBackbone(runner, config, backbone, dir, async (file) => {
    const plan = planZoo(backbone, dataset, dir, options);
    const jobs = zooTuningJobs(plan, { backbone: file, dataset: spec }, dir);
    const ids = new Set(jobs.map((j) => j.id));
    let done = plan.manifest.entries.length;
    const outcome = await runner.run(jobs, {
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
          `LoRA ${result.id} was tuned on backbone ${result.fingerprint} (${file}), not on this one (${plan.fingerprint}); every worker must read the same backbone file`,
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
      throw new CancelledError(
        `zoo stopped after ${finished} of ${options.size} LoRAs (in ${dir}); run the same command again to finish it`,
      );
    }
    return loadZoo(dir, backbone);
  });
}
