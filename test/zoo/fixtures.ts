import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, beforeAll } from 'vitest';
import { selectBackend } from '../../src/backend';
import type { ImageDataset } from '../../src/data';
import { VisionTransformer, type ViTConfig } from '../../src/model';
import { buildZoo, type Zoo } from '../../src/zoo';
import { syntheticDataset } from '../data/synthetic';
import { ZOO_TEST_VIT } from '../model/tiny-config';

export interface TestZoo {
  tmp: string; // a fresh temporary directory; the zoo is in <tmp>/zoo
  backbone: VisionTransformer; // the recipe's ViT, random, seed 3
  zoo: Zoo; // 2 LoRAs of rank 2, 3-way 1-shot tasks, seed 1
}

/** What differs between the suites' zoos: the backbone's configuration, the base images, the tuning steps. */
export interface TestZooRecipe {
  vit: ViTConfig;
  dataset: () => ImageDataset | Promise<ImageDataset>;
  steps: number;
}

/** ZOO_TEST_VIT, tuned one step on synthetic 8×8 images of 6 base classes. */
export const SYNTHETIC_ZOO: TestZooRecipe = { vit: ZOO_TEST_VIT, dataset: () => syntheticDataset([6, 6, 6, 6, 6, 6], 'base', 8), steps: 1 };

/**
 * The set-up of a suite that needs a small zoo: the cpu backend (worker processes use cpu too:
 * identical kernels, identical numbers), a random backbone and a zoo of two LoRAs built before the
 * suite (beforeAll fills in the returned object), disposed and removed after it. `prefix` names the
 * temporary directory.
 */
export function useTestZoo(prefix: string, recipe: TestZooRecipe): TestZoo {
  const made = {} as TestZoo;
  beforeAll(async () => {
    await selectBackend('cpu');
    made.tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.backbone = VisionTransformer.random(recipe.vit, 3);
    const base = await recipe.dataset();
    made.zoo = await buildZoo(made.backbone, base, path.join(made.tmp, 'zoo'), {
      size: 2,
      ways: 3,
      shots: 1,
      heldOut: 1,
      rank: 2,
      steps: recipe.steps,
      learningRate: 0.01,
      seed: 1,
    });
  });
  afterAll(() => {
    made.zoo?.dispose();
    made.backbone?.dispose();
    if (made.tmp) fs.rmSync(made.tmp, { recursive: true, force: true });
  });
  return made;
}

/** useTestZoo with the synthetic recipe (SYNTHETIC_ZOO). */
export function useSyntheticZoo(prefix: string): TestZoo {
  return useTestZoo(prefix, SYNTHETIC_ZOO);
}
