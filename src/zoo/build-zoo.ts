import * as fs from 'fs';
import * as path from 'path';
import type { ImageDataset, Split } from '../data/dataset';
import { episodeTensors, sampleEpisodes, type Episode } from '../data/episodes';
import { CompatibilityError } from '../errors';
import { saveLoraFile } from '../io/lora-file';
import { normalizeImages } from '../model/preprocess';
import type { VisionTransformer } from '../model/vision-transformer';
import type { RunControl } from '../progress/events';
import { runSteps } from '../progress/run-steps';
import { backboneFingerprint } from './backbone-fingerprint';
import { loadZoo } from './load-zoo';
import { readZooManifest, writeZooManifest, ZOO_FORMAT, type ZooManifest, type ZooManifestEntry, type ZooRecipe } from './manifest';
import { pretuneLora } from './pretune';
import type { Zoo } from './zoo';
import type { ProjectionName } from '../model/weights';
import type { AdversarialOptions } from '../training/adversarial';
import type { ShapeAugmentOptions } from '../training/shape-augment';

export interface ZooBuildOptions extends RunControl {
  size: number; // LoRAs in the zoo
  ways: number; // N classes per pre-tuning task
  shots: number; // K training images per class
  heldOut?: number; // images per class kept aside to measure each LoRA (default 5, fewer when a class has fewer)
  rank: number;
  targets?: ProjectionName[]; // projections each LoRA adapts (default q and v, the paper's)
  augment?: ShapeAugmentOptions; // shape augmentation of the training images while tuning (default none)
  adversarial?: AdversarialOptions; // adversarial training, L2 PGD on each step's images (default none)
  headInit?: 'random' | 'prototypes'; // each head's start (default random, nn.Linear's)
  steps: number;
  learningRate: number;
  seed: number;
  split?: Split; // classes the tasks draw from, default 'base' (never validation or novel)
}

/** What a zoo build does: its recipe, the backbone's fingerprint, the manifest so far, the `size` tasks. */
export interface ZooPlan {
  recipe: ZooRecipe;
  fingerprint: string;
  manifest: ZooManifest; // entries 0..done−1 are tuned already
  tasks: Episode[]; // task i pre-tunes LoRA i
}

/** The id (and file stem) of LoRA i of a tuned zoo: "lora-0007". */
export function zooLoraId(index: number): string {
  return `lora-${String(index).padStart(4, '0')}`;
}

/**
 * The plan of building (or finishing) a zoo of `options.size` LoRAs in `dir`: the seeded N-way
 * K-shot tasks over the split's classes and what `dir` already holds. Throws CompatibilityError
 * when `dir` holds a zoo of another backbone or recipe. Creates `dir`.
 */
export function planZoo(backbone: VisionTransformer, dataset: ImageDataset, dir: string, options: ZooBuildOptions): ZooPlan {
  const split = options.split ?? 'base';
  const recipe: ZooRecipe = {
    dataset: `${dataset.name}:${split}`,
    ways: options.ways,
    shots: options.shots,
    rank: options.rank,
    steps: options.steps,
    learningRate: options.learningRate,
    seed: options.seed,
    // recorded only when not the defaults, so that zoos built before these options stay compatible
    ...(options.heldOut === undefined || options.heldOut === 5 ? {} : { heldOut: options.heldOut }),
    ...(options.targets === undefined || options.targets.join(',') === 'q,v' ? {} : { targets: options.targets }),
    ...(options.augment === undefined ? {} : { augment: options.augment }),
    ...(options.adversarial === undefined ? {} : { adversarial: options.adversarial }),
    ...(options.headInit === undefined || options.headInit === 'random' ? {} : { headInit: options.headInit }),
  };
  const fingerprint = backboneFingerprint(backbone);
  const manifest: ZooManifest = readZooManifest(dir) ?? {
    format: ZOO_FORMAT,
    backbone: { fingerprint, config: backbone.config },
    recipe,
    entries: [],
  };
  if (manifest.backbone.fingerprint !== fingerprint || JSON.stringify(manifest.recipe) !== JSON.stringify(recipe)) {
    throw new CompatibilityError(
      `${dir} already holds a zoo of another backbone or recipe (${JSON.stringify(manifest.recipe)}); ` +
        'use another directory, or delete it to rebuild',
    );
  }
  fs.mkdirSync(dir, { recursive: true });
  const tasks = sampleEpisodes(dataset, split, {
    ways: options.ways,
    shots: options.shots,
    queries: options.heldOut ?? 5,
    count: options.size,
    seed: options.seed,
  }).episodes;
  return { recipe, fingerprint, manifest, tasks };
}

/**
 * LoRA `index` of a zoo (method.md §1.1): pre-tuned on `task` of `dataset` with the recipe's
 * settings and seed + index, then written atomically to `file` (factors in PEFT naming, head with
 * bias, class ids, and in its metadata the backbone fingerprint, task index, recipe and tuning
 * record). Returns its manifest entry (path: the file's name, relative to the zoo directory).
 * The same inputs give the same bytes, in this thread, a worker thread or a queue worker,
 * except the record's `seconds`.
 */
export function tuneZooLora(
  backbone: VisionTransformer,
  dataset: ImageDataset,
  task: Episode,
  index: number,
  recipe: ZooRecipe,
  file: string,
  about: { fingerprint: string; onStep?: (step: number, loss: number) => void },
): ZooManifestEntry {
  const tensors = episodeTensors(dataset, task, normalizeImages);
  let tuned: ReturnType<typeof pretuneLora>;
  try {
    tuned = pretuneLora(backbone, tensors, recipe.ways, {
      rank: recipe.rank,
      targets: recipe.targets,
      augment: recipe.augment,
      adversarial: recipe.adversarial,
      headInit: recipe.headInit,
      steps: recipe.steps,
      learningRate: recipe.learningRate,
      seed: recipe.seed + index,
      onStep: about.onStep,
    });
  } finally {
    tensors.support.dispose();
    tensors.query.dispose();
  }
  const { lora, head, record } = tuned;
  const parameters = lora.toParameters();
  try {
    saveLoraFile(file, {
      parameters,
      head: { weight: head.weight, bias: head.bias },
      classIds: task.classIds,
      metadata: { backbone: about.fingerprint, task: index, recipe, record },
    });
  } finally {
    parameters.factors.forEach((f) => {
      f.a.dispose();
      f.b.dispose();
    });
    lora.dispose();
    head.dispose();
  }
  return { id: zooLoraId(index), format: 'lora', path: path.basename(file), classIds: task.classIds, record };
}

/**
 * Builds (or finishes) a zoo of `size` LoRAs in `dir` (method.md §1.1), in this thread: LoRA i is
 * tuneZooLora on the i-th task of planZoo, then added to zoo.json, both atomically. The tasks
 * depend only on the dataset, options and seed, so an interrupted build (AbortSignal, crash)
 * resumes where it stopped and ends with the zoo an uninterrupted run makes. Returns the zoo
 * loaded from disk (the caller owns it). The AbortSignal stops between LoRAs with CancelledError
 * (runSteps); the LoRAs finished so far stay in `dir` and the same call finishes the zoo.
 * (src/reproduce/zoo-jobs.ts runs the same LoRAs as jobs, e.g. on the queues of a Redis.)
 */
export async function buildZoo(backbone: VisionTransformer, dataset: ImageDataset, dir: string, options: ZooBuildOptions): Promise<Zoo> {
  const { recipe, fingerprint, manifest, tasks } = planZoo(backbone, dataset, dir, options);
  const loop = {
    run: 'zoo',
    total: options.size,
    done: manifest.entries.length,
    unit: 'LoRAs',
    onEvent: options.onEvent,
    signal: options.signal,
    checkpoint: () => {
      writeZooManifest(dir, manifest);
      return dir;
    },
  };
  await runSteps(loop, (step) => {
    const i = step - 1;
    const entry = tuneZooLora(backbone, dataset, tasks[i], i, recipe, path.join(dir, `${zooLoraId(i)}.safetensors`), { fingerprint });
    manifest.entries.push(entry);
    const record = entry.record!;
    return {
      loss: record.finalLoss,
      trainAccuracy: record.trainAccuracy,
      ...(record.heldOutAccuracy === null ? {} : { heldOutAccuracy: record.heldOutAccuracy }),
      ...(typeof record.nnHeldOutAccuracy === 'number' ? { nnHeldOutAccuracy: record.nnHeldOutAccuracy } : {}),
    };
  });
  return loadZoo(dir, backbone);
}
