import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend';
import { VisionTransformer } from '../../src/model';
import { buildZoo, planZoo } from '../../src/zoo';
import { syntheticDataset } from '../data/synthetic';
import { ZOO_TEST_VIT } from '../model/tiny-config';

/** zoo.targets and zoo.heldOut: recorded in the recipe only when not the defaults (q and v; 5), and used. */
describe('zoo recipes with other targets and held-out counts', () => {
  let tmp: string;
  let backbone: VisionTransformer;
  beforeAll(async () => {
    await selectBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zoo-recipe-'));
    backbone = VisionTransformer.random(ZOO_TEST_VIT, 3);
  });
  afterAll(() => {
    backbone.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const data = syntheticDataset([8, 8, 8, 8], 'base', 8);
  const base = { size: 1, ways: 3, shots: 2, rank: 2, steps: 1, learningRate: 0.01, seed: 1 };

  it('leaves the defaults out of the recipe, so that zoos built before the options stay compatible', () => {
    const plain = planZoo(backbone, data, path.join(tmp, 'plain'), base).recipe;
    expect(Object.keys(plain)).toEqual(['dataset', 'ways', 'shots', 'rank', 'steps', 'learningRate', 'seed']);
    expect(planZoo(backbone, data, path.join(tmp, 'plain'), { ...base, heldOut: 5, targets: ['q', 'v'] }).recipe).toEqual(plain);
  });

  it("tunes each LoRA on the recipe's targets and keeps heldOut images per class aside", async () => {
    const before = tf.memory().numTensors;
    const zoo = await buildZoo(backbone, data, path.join(tmp, 'wide'), { ...base, heldOut: 3, targets: ['k', 'fc1'] });
    const manifest = JSON.parse(fs.readFileSync(path.join(tmp, 'wide', 'zoo.json'), 'utf8'));
    expect(manifest.recipe).toMatchObject({ heldOut: 3, targets: ['k', 'fc1'] });
    const entry = zoo.entries[0];
    expect([...new Set(entry.parameters.factors.map((f) => f.site.projection))].sort()).toEqual(['fc1', 'k']);
    expect(entry.record?.heldOutImages).toBe(3 * 3);
    // another held-out count is another recipe: refused, not silently mixed
    expect(() => planZoo(backbone, data, path.join(tmp, 'wide'), { ...base, heldOut: 4, targets: ['k', 'fc1'] })).toThrow(
      /another backbone or recipe/,
    );
    zoo.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
