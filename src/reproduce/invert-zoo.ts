import * as path from 'path';
import { LoRA } from '../adapters/lora';
import { assetPath } from '../paths';
import { saveBackbone, shippedBackboneFile } from '../backbone/shipped';
import type { BackendRequest } from '../backend/select';
import { CancelledError, ConfigError } from '../errors';
import { withTemporaryDir } from '../io/temp-dir';
import type { VisionTransformer } from '../model/vision-transformer';
import { invertLoraJobs, type InvertLoraJob } from '../parallel';
import { SHIPPED_PRIOR_FILE } from '../prior/prior-file';
import type { RunControl } from '../progress/events';
import { loraSeed } from '../random/lora-seed';
import { disposeSurrogateSets, readSurrogateSet, type RecordedSurrogateSet } from '../surrogate';
import { zooEntryFile, type ZooEntry } from '../zoo';
import type { RunConfig } from './config';

/**
 * One invert-lora job per zoo LoRA: the run's inversion settings, output `<out>/<id>/`. Each
 * LoRA is inverted with its own seed, loraSeed(run seed, LoRA id): its own starting noise and
 * jitter, the same in every inversion of that LoRA in the run (the noise row, steps 0, is then
 * the very start of its inversion; the pruned variant starts from it too).
 */
export function zooInversionJobs(
  files: { backbone: string; zoo: string; prior?: string },
  entries: readonly ZooEntry[],
  config: RunConfig,
  pruning: Record<number, number>,
  out: string,
): InvertLoraJob[] {
  const inv = config.inversion;
  return entries.map((entry) => {
    if (!entry.head) throw new ConfigError(`LoRA "${entry.id}" has no task head, so it cannot be inverted (PEFT adapters carry none)`);
    return {
      kind: 'invert-lora',
      id: entry.id,
      backbone: files.backbone,
      lora: zooEntryFile(files.zoo, entry.id),
      prior: files.prior,
      output: path.join(out, entry.id),
      options: {
        ways: entry.head.classes,
        shots: inv.shots,
        queries: inv.queries,
        steps: inv.steps,
        learningRate: inv.learningRate,
        priorWeight: inv.priorWeight,
        pruning,
        pruneFrom: inv.pruneStartFraction,
        seed: loraSeed(config.evaluation.seed, entry.id),
        classNames: entry.classIds,
        run: `inversion ${entry.id}`,
      },
    };
  });
}

/** The backbone's HF CLIP file: the configuration's, or (random backbones) `backbone` saved as directory `target`. */
export function backboneFile(config: RunConfig, backbone: VisionTransformer, target: string): string {
  const b = config.backbone;
  if (b.source === 'shipped') return shippedBackboneFile(b.name);
  if (b.source === 'hf') return b.path;
  saveBackbone(target, backbone);
  return target;
}

/**
 * The jobs on the queues of `redis` (src/queue: worker processes on any host). A random backbone
 * is saved beside the surrogate sets (`<out>/.backbone/`), where the workers find it as they find
 * `out`: every path of a job must name the same file on every worker's host (a shared directory).
 */
async function invertOnQueue(
  backbone: VisionTransformer,
  zooDir: string,
  entries: readonly ZooEntry[],
  config: RunConfig,
  pruning: Record<number, number>,
  out: string,
  control: RunControl & { redis: string },
): Promise<{ stopped: boolean; results: unknown[] }> {
  const { runJobsOnQueue, failuresError } = await import('../queue');
  const prior = config.inversion.priorWeight > 0 ? assetPath(...SHIPPED_PRIOR_FILE) : undefined;
  const jobs = zooInversionJobs(
    { backbone: backboneFile(config, backbone, path.join(out, '.backbone')), zoo: zooDir, prior },
    entries,
    config,
    pruning,
    out,
  );
  const outcome = await runJobsOnQueue(jobs, { redis: control.redis, onEvent: control.onEvent, signal: control.signal });
  const failed = failuresError(jobs, outcome);
  if (failed) throw failed;
  return outcome;
}

/**
 * Inverts `entries` of the zoo saved in `zooDir` through the job code of the parallel pool
 * (invertLoraJobs: in this thread or in worker threads, as executionFor('invert') says; with
 * `control.redis`, worker processes through the queues, invertOnQueue; the same images every
 * way), each into `<out>/<id>/`, and reads the sets back with the zoo's LoRA (a new
 * adapter each set owns) and head as teacher, in the order of `entries`. A stop throws
 * CancelledError once the running jobs have ended: the sets finished by then stay in `out`.
 */
export async function invertZooEntries(
  backbone: VisionTransformer,
  zooDir: string,
  entries: readonly ZooEntry[],
  config: RunConfig,
  pruning: Record<number, number>,
  out: string,
  control: RunControl & { backend?: BackendRequest; redis?: string },
): Promise<RecordedSurrogateSet[]> {
  const redis = control.redis;
  const outcome = redis
    ? await invertOnQueue(backbone, zooDir, entries, config, pruning, out, { ...control, redis })
    : await withTemporaryDir('lora-recycle-backbone-', (temp) => {
        const prior = config.inversion.priorWeight > 0 ? assetPath(...SHIPPED_PRIOR_FILE) : undefined;
        const jobs = zooInversionJobs(
          { backbone: backboneFile(config, backbone, path.join(temp, 'backbone')), zoo: zooDir, prior },
          entries,
          config,
          pruning,
          out,
        );
        return invertLoraJobs(jobs, { onEvent: control.onEvent, signal: control.signal, backend: control.backend });
      });
  if (outcome.stopped) {
    const done = outcome.results.filter((r) => r !== null).length;
    throw new CancelledError(
      `inversion of the zoo stopped after ${done} of ${entries.length} LoRAs; the finished surrogate sets are in ${out}`,
    );
  }
  const sets: RecordedSurrogateSet[] = [];
  try {
    entries.forEach((entry) => {
      const adapter = LoRA.fromParameters(entry.parameters, { trainable: false });
      try {
        sets.push(readSurrogateSet(path.join(out, entry.id), { adapter, head: entry.head! }));
      } catch (error) {
        adapter.dispose();
        throw error;
      }
    });
  } catch (error) {
    disposeSurrogateSets(sets);
    throw error;
  }
  return sets;
}
