import { methodScorer, type MethodContext } from '../baselines';
import { episodeSource } from '../data/episodes';
import { forEachEpisode } from '../evaluation/evaluate-episodes';
import { loadLora } from '../io/load-lora';
import { normalizeImages } from '../model/preprocess';
import type { RunControl } from '../progress/events';
import { loadZoo, type Zoo } from '../zoo';
import type { EvaluateMethodJob, EvaluateMethodResult } from './jobs';
import type { JobResources } from './resources';

/**
 * The job's method on each episode of its block (methodScorer, the code of evaluateMethod, with
 * the seeds the episodes have in the whole list), the zoo and meta-LoRA loaded from their files
 * as `lora-recycle evaluate` loads them. One step event per episode (run = job id, metrics.accuracy
 * of that episode); the signal stops between episodes (CancelledError).
 */
export async function runEvaluateMethod(
  job: EvaluateMethodJob,
  resources: JobResources,
  control: RunControl = {},
): Promise<EvaluateMethodResult> {
  const started = performance.now();
  const backbone = resources.backbone(job.backbone);
  const source = episodeSource(await resources.dataset(job.dataset), job.episodes, normalizeImages);
  let zoo: Zoo | null = null;
  let meta: ReturnType<typeof loadLora> | null = null;
  try {
    zoo = job.zoo ? loadZoo(job.zoo, backbone) : null;
    meta = job.meta ? loadLora(job.meta, { config: backbone.config }) : null;
    const context: MethodContext = { backbone, zoo: zoo?.entries.map((e) => e.parameters) ?? [], metaLora: meta };
    const accuracies = await forEachEpisode(
      source,
      { run: job.id, onEvent: control.onEvent, signal: control.signal },
      methodScorer(job.method, context, job.options, job.first),
      (sofar) => ({ accuracy: sofar[sofar.length - 1] }),
    );
    return { kind: 'evaluate-method', id: job.id, method: job.method, accuracies, seconds: (performance.now() - started) / 1000 };
  } finally {
    zoo?.dispose();
    meta?.dispose();
  }
}
