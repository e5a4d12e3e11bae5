import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll } from 'vitest';
import { selectBackend } from '../../src/backend';
import { loadDatasetSpec, loadEmojiDataset, sampleEpisodes, type EpisodeList } from '../../src/data';
import { saveHfClipVision, saveLoraFile } from '../../src/io';
import type { ViTConfig } from '../../src/model';
import { PriorCnn, savePrior } from '../../src/prior';
import type { RunConfig } from '../../src/reproduce/config';
import type { DatasetSpec } from '../../src/data';
import { randomTeacher, responsiveBackbone } from '../inversion/fixtures';
import type { TestZooRecipe } from '../zoo/fixtures';

/** 32×32 images (the emoji set's), patch 8 → 16 patches; small enough for the cpu backend. */
export const PARALLEL_VIT: ViTConfig = {
  imageSize: 32,
  patchSize: 8,
  channels: 3,
  width: 16,
  depth: 2,
  heads: 2,
  mlpWidth: 32,
  projectionDim: 8,
  layerNormEps: 1e-5,
};

/** 4 emoji of every category from the shared default cache (built once by the data tests). */
export const EMOJI_SPEC: DatasetSpec = { loader: 'emoji', limit: 4 };

/** A zoo (test/zoo/fixtures.ts useTestZoo) on PARALLEL_VIT, tuned two steps on the EMOJI_SPEC images. */
export const EMOJI_ZOO: TestZooRecipe = { vit: PARALLEL_VIT, dataset: () => loadDatasetSpec(EMOJI_SPEC), steps: 2 };

/** configs/tiny.json with the random PARALLEL_VIT backbone (seed 3), rank 2, 2 tuning steps, 5-way 1-shot episodes with 3 queries. */
export function parallelRunConfig(name: string): RunConfig {
  const tiny = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'configs', 'tiny.json'), 'utf8'));
  return {
    ...tiny,
    name,
    backbone: { source: 'random', config: PARALLEL_VIT, seed: 3 },
    zoo: { ...tiny.zoo, rank: 2 },
    evaluation: { ...tiny.evaluation, ways: 5, shots: [1], queries: 3, seed: 7 },
    baselines: { ...tiny.baselines, tuningSteps: 2, fullTuningSteps: 2 },
  };
}

export interface ParallelFiles {
  dir: string;
  backbone: string; // HF CLIP checkpoint directory
  lora: string; // LoRA file with a 3-way head
  loraB: string; // another one
  prior: string;
  list: EpisodeList; // 12 novel 5-way 1-shot episodes
  remove(): void;
}

/** randomTeacher's LoRA and head, saved as a LoRA file with made-up class ids. */
function saveRandomLora(file: string, config: ViTConfig, ways: number, seed: number): void {
  const teacher = randomTeacher(config, ways, seed);
  const parameters = teacher.adapter.toParameters();
  saveLoraFile(file, {
    parameters,
    head: { weight: teacher.head.weight, bias: teacher.head.bias },
    classIds: Array.from({ length: ways }, (_, i) => `class-${seed}-${i}`),
    metadata: {},
  });
  tf.dispose(parameters.factors.flatMap((f) => [f.a, f.b]));
  teacher.dispose();
}

/** Backbone, two LoRAs, a prior and an episode list on disk, in a fresh temporary directory. */
export async function writeParallelFiles(): Promise<ParallelFiles> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parallel-test-'));
  const backbone = responsiveBackbone(PARALLEL_VIT, 3);
  saveHfClipVision(path.join(dir, 'backbone'), PARALLEL_VIT, backbone.weights);
  backbone.dispose();
  saveRandomLora(path.join(dir, 'a.safetensors'), PARALLEL_VIT, 3, 11);
  saveRandomLora(path.join(dir, 'b.safetensors'), PARALLEL_VIT, 3, 23);
  const prior = PriorCnn.random({ imageSize: 32, channels: 3, widths: [4, 6], classes: 2, batchNormEps: 1e-5 }, 5);
  savePrior(path.join(dir, 'prior.safetensors'), prior);
  prior.dispose();
  const emoji = await loadEmojiDataset({ limit: EMOJI_SPEC.limit });
  const list = sampleEpisodes(emoji, 'novel', { ways: 5, shots: 1, queries: 3, count: 12, seed: 3 });
  return {
    dir,
    backbone: path.join(dir, 'backbone'),
    lora: path.join(dir, 'a.safetensors'),
    loraB: path.join(dir, 'b.safetensors'),
    prior: path.join(dir, 'prior.safetensors'),
    list,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The set-up of a suite that runs jobs on these files: the cpu backend (workers use cpu too:
 * identical kernels, so identical numbers) and the files, written before the suite (beforeAll
 * fills in the returned object) and removed after it.
 */
export function useParallelFiles(): ParallelFiles {
  const files = {} as ParallelFiles;
  beforeAll(async () => {
    await selectBackend('cpu');
    Object.assign(files, await writeParallelFiles());
  });
  afterAll(() => files.remove?.()); // absent when the set-up failed
  return files;
}
