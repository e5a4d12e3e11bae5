import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoRA } from '../../src/adapters/lora';
import { CompatibilityError, MissingResourceError } from '../../src/errors';
import { loadCheckpointLora } from '../../src/meta/checkpoint-lora';
import { metaTrain, type MetaTrainOptions } from '../../src/meta/meta-train';
import { ToyAdapter, ToyModel, toySet } from './toy';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('cpu');
});

const model = new ToyModel(4 * 4 * 3, 8);
const sets = [toySet(model, 3, 4, 11), toySet(model, 3, 4, 21)];
const base: MetaTrainOptions = { steps: 8, episode: { ways: 3, shots: 1, queries: 2 }, patchGrid: 2, seed: 5, checkpointEvery: 4 };
const tempDirs: string[] = [];
const tempFile = () => {
  tempDirs.push(fs.mkdtempSync(path.join(os.tmpdir(), 'lora-meta-checkpoint-')));
  return path.join(tempDirs[tempDirs.length - 1], 'ckpt.json');
};
afterAll(() => tempDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** A trainable LoRA on the site ToyModel adapts (layer 0, q), 8 → 8, rank 2, scale 0.5, B non-zero. */
function toyLora(seed: number): LoRA {
  const factors = [
    {
      site: { layer: 0, projection: 'q' as const },
      a: tf.randomNormal([8, 2], 0, 0.3, 'float32', seed) as tf.Tensor2D,
      b: tf.randomNormal([2, 8], 0, 0.3, 'float32', seed + 1) as tf.Tensor2D,
    },
  ];
  const lora = LoRA.fromParameters({ rank: 2, scale: 0.5, factors }, { trainable: true });
  tf.dispose(factors.flatMap((f) => [f.a, f.b]));
  return lora;
}
const factorValues = (lora: LoRA) => {
  const f = lora.factorsAt({ layer: 0, projection: 'q' })!;
  return [...f.a.dataSync(), ...f.b.dataSync()];
};

describe('meta-training checkpoint: best and last', () => {
  it("names the last and the best meta-LoRA, and which one is the run's result", async () => {
    const file = tempFile();
    const meta = toyLora(1);
    const scores = [0.2, 0.9, 0.5, 0.4];
    const atValidation: number[][] = [];
    await metaTrain(model, meta, sets, {
      ...base,
      checkpointPath: file,
      validateEvery: 2,
      validate: (a) => {
        atValidation.push(factorValues(a as LoRA));
        return scores.shift()!;
      },
    });
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(json.selected).toBe('best');
    expect(json.last.step).toBe(8);
    expect(json.best).toMatchObject({ step: 4, accuracy: 0.9 });
    expect(json.lora).toEqual({ rank: 2, scale: 0.5, sites: [{ layer: 0, projection: 'q' }] });
    expect(json.variables).toBeUndefined(); // no unnamed top-level weights

    const before = tf.memory().numTensors;
    const selected = loadCheckpointLora(file);
    expect(selected.rank).toBe(2);
    expect(selected.scale).toBe(0.5);
    expect(selected.trainableVariables()).toEqual([]);
    expect(factorValues(selected)).toEqual(atValidation[1]); // best: validation at step 4
    expect(factorValues(selected)).toEqual(factorValues(meta)); // what metaTrain left in the adapter
    const last = loadCheckpointLora(file, { which: 'last' });
    expect(factorValues(last)).toEqual(atValidation[3]); // step 8
    expect(factorValues(last)).not.toEqual(factorValues(selected));
    selected.dispose();
    last.dispose();
    expect(tf.memory().numTensors).toBe(before);
    meta.dispose();
  });

  it('selects the last meta-LoRA when validation never ran, and refuses "best" then', async () => {
    const file = tempFile();
    const meta = toyLora(2);
    await metaTrain(model, meta, sets, { ...base, checkpointPath: file });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ selected: 'last', best: null });
    const loaded = loadCheckpointLora(file);
    expect(factorValues(loaded)).toEqual(factorValues(meta));
    loaded.dispose();
    expect(() => loadCheckpointLora(file, { which: 'best' })).toThrow(MissingResourceError);
    meta.dispose();
  });

  it('refuses to load the meta-adapter of a run whose adapter is not a LoRA', async () => {
    const file = tempFile();
    await metaTrain(model, new ToyAdapter(8, 3), sets, { ...base, steps: 2, checkpointPath: file });
    expect(() => loadCheckpointLora(file)).toThrow(CompatibilityError);
  });
});
