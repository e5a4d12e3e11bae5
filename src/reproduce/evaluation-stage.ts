import * as path from 'path';
import type { LoRA } from '../adapters';
import { TUNING_FREE_METHODS, type MethodContext } from '../baselines';
import { ConfigError } from '../errors';
import type { RunControl } from '../progress/events';
import { compareMethodsOnQueue, type ComparisonResult } from './compare-on-queue';
import type { RunConfig } from './config';
import { backboneFile } from './invert-zoo';
import type { PipelineEpisodes } from './ports';
import { compareMethods, evaluateTuningFree, type TuningFreeRow } from './stages';

/** The comparisons of the reproduction's evaluation stage; each result is a row of its report, in the order asked. */
export interface EvaluationStage {
  /** One Table 2/3 block: every tuning-free row on all episodes of `source`, then the `tuned` methods on its first `tunedEpisodes`. */
  block(
    rows: readonly TuningFreeRow[],
    tuned: readonly string[],
    source: PipelineEpisodes,
    tunedEpisodes: number,
  ): Promise<ComparisonResult[]>;
  /** A Table 4/5 row: LoRA Recycle with `lora` (saved as `file`) on every episode of `source`. */
  metaLora(lora: LoRA, file: string, source: PipelineEpisodes): Promise<ComparisonResult>;
}

/**
 * Where the evaluation stage runs. In this process: the tuning-free rows through
 * evaluateTuningFree, the tuned methods and the Table 4/5 rows through compareMethods. With
 * `control.redis`: every row as evaluate-method jobs on its queues (compareMethodsOnQueue), which
 * read the backbone (a random one is saved as `<workDir>/.backbone/`), the zoo directory
 * `files.zoo`, each row's meta-LoRA file (`files.meta` for the tuned methods) and the episodes'
 * data set from a directory all workers share: the per-episode accuracies of the one-process run
 * (exactly on the cpu backend; on native tensorflow the tuning-free rows' feature table and the
 * jobs' per-episode forward passes differ in the last bits, which can flip a query at a near tie).
 */
export function evaluationStage(
  context: MethodContext,
  files: { zoo?: string; meta?: string },
  config: RunConfig,
  workDir: string,
  control: RunControl & { redis?: string },
): EvaluationStage {
  const redis = control.redis;
  if (!redis) {
    return {
      block: async (rows, tuned, source, tunedEpisodes) => [
        ...(await evaluateTuningFree(context.backbone, rows, source, config, control)),
        ...(await compareMethods(context, tuned, source, tunedEpisodes, config, control, TUNING_FREE_METHODS)),
      ],
      metaLora: async (lora, _file, source) =>
        (
          await compareMethods(
            { backbone: context.backbone, zoo: [], metaLora: lora },
            ['lora-recycle'],
            source,
            0,
            config,
            control,
            TUNING_FREE_METHODS,
          )
        )[0],
    };
  }
  let backbone: string | undefined; // saved on first use
  const shared = (source: PipelineEpisodes) => {
    if (!source.origin)
      throw new ConfigError(
        'the evaluation on the queue (reproduce --redis): this episode source names no data set and episode list the workers could load',
      );
    backbone ??= backboneFile(config, context.backbone, path.join(workDir, '.backbone'));
    return { files: { backbone, ...files, dataset: source.origin.dataset }, list: source.origin.list };
  };
  const queue = { ...control, redis };
  return {
    block: async (rows, tuned, source, tunedEpisodes) => {
      const { files: onDisk, list } = shared(source);
      const all = [...rows.map((r) => ({ label: r.method, method: r.scorer, meta: r.meta })), ...tuned];
      return compareMethodsOnQueue(onDisk, all, list, tunedEpisodes, config, queue, TUNING_FREE_METHODS);
    },
    metaLora: async (_lora, file, source) => {
      const { files: onDisk, list } = shared(source);
      return (
        await compareMethodsOnQueue(
          { ...onDisk, zoo: undefined, meta: file },
          ['lora-recycle'],
          list,
          0,
          config,
          queue,
          TUNING_FREE_METHODS,
        )
      )[0];
    },
  };
}
