import * as path from 'path';
import { LoRA } from '../adapters/lora';
import { CancelledError, ConfigError } from '../errors';
import type { VisionTransformer } from '../model/vision-transformer';
import { measuredRunner, type InvertLoraJob, type JobRunner } from '../parallel';
import type { RunControl } from '../progress/events';
import { loraSeed } from '../random/lora-seed';
import { disposeSurrogateSets, readSurrogateSet, type RecordedSurrogateSet } from '../surrogate';
import { zooEntryFile, type ZooEntry } from '../zoo';
import type { RunConfig } from './config';
import { inversionGeneratorFile, inversionPriorFile } from './prior-choice';
import { withJobBackbone } from './job-backbone';

/**
 * One invert-lora job per zoo LoRA: the run's inversion settings, output `<out>/<id>/`. Each
 * LoRA is inverted with its own seed, loraSeed(run seed, LoRA id): its own starting noise and
 * jitter, the same in every inversion of that LoRA in the run (the noise row, steps 0, is then
 * the very start of its inversion; the pruned variant starts from it too).
 */
export function zooInversionJobs(
  files: { backbone: string; zoo: string; prior?: string; generator?: string },
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
      ...(files.generator ? { generator: files.generator } : {}),
      output: path.join(out, entry.id),
      options: {
        ways: entry.head.classes,
        shots: inv.shots,
        queries: inv.queries,
        steps: inv.steps,
        learningRate: inv.learningRate,
        priorWeight: inv.priorWeight,
        tvWeight: inv.tvWeight,
        diversityWeight: inv.diversityWeight,
        flip: inv.flip,
        minCropScale: inv.minCropScale,
        jitterCopies: inv.jitterCopies,
        unadaptedWeight: inv.unadaptedWeight,
        parameterSide: inv.parameterSide,
        strokes: inv.strokes,
        maxStrokeWidth: inv.maxStrokeWidth,
        strokeSegments: inv.strokeSegments,
        inkWeight: inv.inkWeight,
        pruning,
        pruneFrom: inv.pruneStartFraction,
        seed: loraSeed(config.evaluation.seed, entry.id),
        classNames: entry.classIds,
        run: `inversion ${entry.id}`,
      },
    };
  });
}

/**
 * Inverts `entries` of the zoo saved in `zooDir` as invert-lora jobs of `control.runner` (default
 * measuredRunner(): in this thread or in worker threads, as executionFor('invert') says; a queue
 * runner's worker processes read the backbone and the zoo from directories they share; the same
 * images every way), each into `<out>/<id>/`, and reads the sets back with the zoo's LoRA (a new
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
  control: RunControl & { runner?: JobRunner },
): Promise<RecordedSurrogateSet[]> {
  const runner = control.runner ?? measuredRunner();
  const prior = inversionPriorFile(config.inversion);
  const generator = inversionGeneratorFile(config.inversion);
  const outcome = await withJobBackbone(runner, config, backbone, out, (file) =>
    runner.run(zooInversionJobs({ backbone: file, zoo: zooDir, prior, generator }, entries, config, pruning, out), {
      onEvent: control.onEvent,
      signal: control.signal,
    }),
  );
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
