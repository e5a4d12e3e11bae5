import { CancelledError } from '../errors';
import type { VisionTransformer } from '../model/vision-transformer';
import type { RunControl } from '../progress/events';
import { backboneFingerprint, tuneZooLora } from '../zoo';
import type { PretuneLoraJob, PretuneLoraResult } from './jobs';
import type { JobResources } from './resources';

/** Fingerprints of the backbones this thread loaded (each is hashed once). */
const fingerprints = new WeakMap<VisionTransformer, string>();

function fingerprintOf(backbone: VisionTransformer): string {
  let known = fingerprints.get(backbone);
  if (known === undefined) {
    known = backboneFingerprint(backbone);
    fingerprints.set(backbone, known);
  }
  return known;
}

/**
 * Pre-tunes LoRA job.index of a zoo on job.task and writes it to job.output (tuneZooLora, the
 * code of buildZoo), with the fingerprint of the backbone it was tuned on in the file and the
 * result. One step event per tuning step (run = job id, metrics.loss). The tuning itself does not
 * yield: the signal is looked at before it starts (CancelledError), not during it.
 */
export async function runPretuneLora(job: PretuneLoraJob, resources: JobResources, control: RunControl = {}): Promise<PretuneLoraResult> {
  if (control.signal?.aborted) throw new CancelledError(`pre-tuning of ${job.id} stopped before it started; nothing saved`);
  const backbone = resources.backbone(job.backbone);
  const dataset = await resources.dataset(job.dataset);
  const fingerprint = fingerprintOf(backbone);
  const onStep = control.onEvent
    ? (step: number, loss: number) => control.onEvent!({ kind: 'step', run: job.id, step, totalSteps: job.recipe.steps, metrics: { loss } })
    : undefined;
  const entry = tuneZooLora(backbone, dataset, job.task, job.index, job.recipe, job.output, { fingerprint, onStep });
  return { kind: 'pretune-lora', id: job.id, output: job.output, fingerprint, classIds: entry.classIds, record: entry.record! };
}
