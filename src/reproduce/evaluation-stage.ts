import type { LoRA } from '../adapters';
import { TUNING_FREE_METHODS, type MethodContext } from '../baselines';
import type { JobRunner } from '../parallel';
import type { RunControl } from '../progress/events';
import { compareMethodsAsJobs, type ComparisonResult } from './compare-as-jobs';
import type { RunConfig } from './config';
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
 * Where the evaluation stage runs. With a runner whose jobs run here (not remote): in this
 * process, the tuning-free rows through evaluateTuningFree, the tuned methods and the Table 4/5
 * rows through compareMethods. With a remote runner: every row as evaluate-method jobs
 * (compareMethodsAsJobs), which read the backbone (a random one is saved as
 * `<workDir>/.backbone/`), the zoo directory `files.zoo`, each row's meta-LoRA file (`files.meta`
 * for the tuned methods) and the episodes' data set from a directory all workers share: the
 * per-episode accuracies of the one-process run (exactly on the cpu backend; on native tensorflow
 * the tuning-free rows' feature table and the jobs' per-episode forward passes differ in the last
 * bits, which can flip a query at a near tie).
 */
export function evaluationStage(
  context: MethodContext,
  files: { zoo?: string; meta?: string },
  config: RunConfig,
  workDir: string,
  runner: JobRunner,
  control: RunControl,
): EvaluationStage {
  if (!runner.remote) {
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
  const model = { backbone: context.backbone, ...files, dir: workDir };
  return {
    block: (rows, tuned, source, tunedEpisodes) => {
      const all = [...rows.map((r) => ({ label: r.method, method: r.scorer, meta: r.meta })), ...tuned];
      return compareMethodsAsJobs(runner, model, all, source, tunedEpisodes, config, control, TUNING_FREE_METHODS);
    },
    metaLora: async (_lora, file, source) =>
      (
        await compareMethodsAsJobs(
          runner,
          { ...model, zoo: undefined, meta: file },
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
