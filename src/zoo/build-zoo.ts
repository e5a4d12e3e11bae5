import * as fs from 'fs';
import * as path from 'path';
import type { ImageDataset, Split } from '../data/dataset';
import { episodeTensors, sampleEpisodes } from '../data/episodes';
import { CompatibilityError } from '../errors';
import { saveLoraFile } from '../io/lora-file';
import { normalizeImages } from '../model/preprocess';
import type { VisionTransformer } from '../model/vision-transformer';
import type { RunControl } from '../progress/events';
import { runSteps } from '../progress/run-steps';
import { backboneFingerprint } from './backbone-fingerprint';
import { loadZoo } from './load-zoo';
import { readZooManifest, writeZooManifest, ZOO_FORMAT, type ZooManifest } from './manifest';
import { pretuneLora } from './pretune';
import type { Zoo } from './zoo';

export interface ZooBuildOptions extends RunControl {
  size: number; // LoRAs in the zoo
  ways: number; // N classes per pre-tuning task
  shots: number; // K training images per class
  heldOut?: number; // images per class kept aside to measure each LoRA (default 5, fewer when a class has fewer)
  rank: number;
  steps: number;
  learningRate: number;
  seed: number;
  split?: Split; // classes the tasks draw from, default 'base' (never validation or novel)
}

/**
 * Builds (or finishes) a zoo of `size` LoRAs in `dir` (method.md §1.1): LoRA i is pre-tuned on
 * the i-th of `size` seeded N-way K-shot tasks over the base classes, then written as a LoRA file
 * (factors in PEFT naming, head with bias, class ids, tuning record) and added to zoo.json, both
 * atomically. The tasks depend only on the dataset, options and seed, so an interrupted build
 * (AbortSignal, crash) resumes where it stopped and ends with the zoo an uninterrupted run makes.
 * Returns the zoo loaded from disk (the caller owns it). The AbortSignal stops between LoRAs with
 * CancelledError (runSteps); the LoRAs finished so far stay in `dir` and the same call finishes the zoo.
 */
export async function buildZoo(backbone: VisionTransformer, dataset: ImageDataset, dir: string, options: ZooBuildOptions): Promise<Zoo> {
  const split = options.split ?? 'base';
  const recipe = {
    dataset: `${dataset.name}:${split}`, ways: options.ways, shots: options.shots, rank: options.rank,
    steps: options.steps, learningRate: options.learningRate, seed: options.seed,
  };
  const fingerprint = backboneFingerprint(backbone);
  const manifest: ZooManifest = readZooManifest(dir) ?? { format: ZOO_FORMAT, backbone: { fingerprint, config: backbone.config }, recipe, entries: [] };
  if (manifest.backbone.fingerprint !== fingerprint || JSON.stringify(manifest.recipe) !== JSON.stringify(recipe)) {
    throw new CompatibilityError(
      `${dir} already holds a zoo of another backbone or recipe (${JSON.stringify(manifest.recipe)}); ` +
      'use another directory, or delete it to rebuild',
    );
  }
  fs.mkdirSync(dir, { recursive: true });
  const tasks = sampleEpisodes(dataset, split, {
    ways: options.ways, shots: options.shots, queries: options.heldOut ?? 5, count: options.size, seed: options.seed,
  }).episodes;
  const loop = {
    run: 'zoo', total: options.size, done: manifest.entries.length, unit: 'LoRAs', onEvent: options.onEvent, signal: options.signal,
    checkpoint: () => { writeZooManifest(dir, manifest); return dir; },
  };
  await runSteps(loop, (step) => {
    const i = step - 1;
    const id = `lora-${String(i).padStart(4, '0')}`;
    const task = episodeTensors(dataset, tasks[i], normalizeImages);
    let tuned: ReturnType<typeof pretuneLora>;
    try {
      tuned = pretuneLora(backbone, task, options.ways, { rank: options.rank, steps: options.steps, learningRate: options.learningRate, seed: options.seed + i });
    } finally {
      task.support.dispose();
      task.query.dispose();
    }
    const { lora, head, record } = tuned;
    const parameters = lora.toParameters();
    try {
      saveLoraFile(path.join(dir, `${id}.safetensors`), {
        parameters, head: { weight: head.weight, bias: head.bias }, classIds: tasks[i].classIds,
        metadata: { backbone: fingerprint, task: i, recipe, record },
      });
    } finally {
      parameters.factors.forEach((f) => { f.a.dispose(); f.b.dispose(); });
      lora.dispose();
      head.dispose();
    }
    manifest.entries.push({ id, format: 'lora', path: `${id}.safetensors`, classIds: tasks[i].classIds, record });
    return { loss: record.finalLoss, trainAccuracy: record.trainAccuracy, ...(record.heldOutAccuracy === null ? {} : { heldOutAccuracy: record.heldOutAccuracy }) };
  });
  return loadZoo(dir, backbone);
}
