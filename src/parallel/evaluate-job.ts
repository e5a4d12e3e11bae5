import type { LoRA } from '../adapters/lora';
import { episodeSource } from '../data/episodes';
import { episodeAccuracy, type FeatureFn } from '../evaluation/episode-accuracy';
import { forEachEpisode } from '../evaluation/evaluate-episodes';
import { loadLora } from '../io/load-lora';
import type { ViTConfig } from '../model/config';
import { normalizeImages } from '../model/preprocess';
import type { RunControl } from '../progress/events';
import type { EvaluateEpisodesJob, EvaluateEpisodesResult } from './jobs';
import type { JobResources } from './resources';

/** The LoRA of a LoRA file or PEFT adapter directory as an adapter (factors checked against the backbone; the head is dropped). */
export function loadLoraAdapter(file: string, config: ViTConfig): LoRA {
  return loadLora(file, { config });
}

/**
 * Prototype accuracy of every episode of the job, one at a time, exactly as
 * evaluateEpisodeSource computes it (f(x) = the backbone's projected [CLS], with the LoRA when
 * given). One step event per episode (run = job id). The signal stops between episodes
 * (forEachEpisode: CancelledError; the pool counts the job as not finished).
 */
export async function runEvaluateEpisodes(
  job: EvaluateEpisodesJob,
  resources: JobResources,
  control: RunControl = {},
): Promise<EvaluateEpisodesResult> {
  const backbone = resources.backbone(job.backbone);
  const source = episodeSource(await resources.dataset(job.dataset), job.episodes, normalizeImages);
  const adapter = job.lora ? loadLoraAdapter(job.lora, backbone.config) : null;
  const featureFn: FeatureFn = (images) => backbone.forward(images, { adapter }).features;
  try {
    const accuracies = await forEachEpisode(
      source,
      { run: job.id, onEvent: control.onEvent, signal: control.signal },
      (episode) => episodeAccuracy(featureFn, episode, { distance: job.distance, batchSize: job.batchSize }),
      (sofar) => ({ accuracy: sofar[sofar.length - 1] }),
    );
    return { kind: 'evaluate-episodes', id: job.id, accuracies, episodes: source.count };
  } finally {
    adapter?.dispose();
  }
}
