import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoRA } from '../../src/adapters/lora';
import { FileFormatError } from '../../src/errors';
import { loadLora } from '../../src/io/load-lora';
import { saveLoraFile } from '../../src/io/lora-file';
import { savePeftAdapter } from '../../src/io/peft-adapter';
import * as lr from '../../src/index';
import { TEST_VIT } from '../model/tiny-config';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('cpu');
});

/** A LoRA with non-zero B (a fresh one has B = 0) and scale α/r = 0.5. */
function sampleLora(): LoRA {
  const fresh = LoRA.create(TEST_VIT, { rank: 2, targets: ['q', 'v', 'fc1'], alpha: 1, seed: 4 });
  const parameters = fresh.toParameters();
  fresh.dispose();
  parameters.factors.forEach((f, i) => {
    f.b.dispose();
    f.b = tf.randomNormal(f.b.shape, 0, 1, 'float32', 50 + i) as tf.Tensor2D;
  });
  const lora = LoRA.fromParameters(parameters, { trainable: true });
  tf.dispose(parameters.factors.flatMap((f) => [f.a, f.b]));
  return lora;
}

function expectSameLora(found: LoRA, expected: LoRA): void {
  expect(found.rank).toBe(expected.rank);
  expect(found.scale).toBe(expected.scale);
  expect(found.sites).toEqual(expected.sites);
  for (const site of expected.sites) {
    expect(found.factorsAt(site)!.a.arraySync()).toEqual(expected.factorsAt(site)!.a.arraySync());
    expect(found.factorsAt(site)!.b.arraySync()).toEqual(expected.factorsAt(site)!.b.arraySync());
  }
}

/** Temporary folders of this file, removed after its tests. */
const temporary: string[] = [];
const made = (dir: string) => {
  temporary.push(dir);
  return dir;
};
afterAll(() => temporary.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

describe('loadLora', () => {
  it('is exported from the package entry', () => {
    expect(lr.loadLora).toBe(loadLora);
    expect(typeof lr.loadCheckpointLora).toBe('function');
  });

  it("reads a LoRA file (with a head) into a frozen LoRA with the file's rank, scale and sites, leaking nothing", () => {
    const lora = sampleLora();
    const file = path.join(made(fs.mkdtempSync(path.join(os.tmpdir(), 'load-lora-'))), 'a.safetensors');
    const parameters = lora.toParameters();
    const head = { weight: tf.ones([TEST_VIT.projectionDim, 3]) as tf.Tensor2D, bias: tf.zeros([3]) as tf.Tensor1D };
    saveLoraFile(file, { parameters, head, classIds: ['a', 'b', 'c'], metadata: {} });
    tf.dispose([...parameters.factors.flatMap((f) => [f.a, f.b]), head.weight, head.bias]);
    const before = tf.memory().numTensors;
    const loaded = loadLora(file, { config: TEST_VIT });
    expectSameLora(loaded, lora);
    expect(loaded.scale).toBe(0.5);
    expect(loaded.trainableVariables()).toEqual([]);
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const trainable = loadLora(file, { trainable: true });
    expect(trainable.trainableVariables()).toHaveLength(2 * lora.sites.length);
    trainable.dispose();
    lora.dispose();
  });

  it('reads a PEFT adapter directory', () => {
    const lora = sampleLora();
    const dir = made(fs.mkdtempSync(path.join(os.tmpdir(), 'load-lora-peft-')));
    const parameters = lora.toParameters();
    savePeftAdapter(dir, { parameters, classIds: [], metadata: {} });
    tf.dispose(parameters.factors.flatMap((f) => [f.a, f.b]));
    const loaded = loadLora(dir, { config: TEST_VIT });
    expectSameLora(loaded, lora);
    loaded.dispose();
    lora.dispose();
  });

  it('names the problem for a file that is no LoRA or does not fit the backbone', () => {
    const dir = made(fs.mkdtempSync(path.join(os.tmpdir(), 'load-lora-bad-')));
    const notLora = path.join(dir, 'x.safetensors');
    fs.writeFileSync(notLora, 'garbage');
    expect(() => loadLora(notLora)).toThrow(FileFormatError);
    const lora = sampleLora();
    const file = path.join(dir, 'a.safetensors');
    const parameters = lora.toParameters();
    saveLoraFile(file, { parameters, classIds: [], metadata: {} });
    tf.dispose(parameters.factors.flatMap((f) => [f.a, f.b]));
    lora.dispose();
    expect(() => loadLora(file, { config: { ...TEST_VIT, width: 16 } })).toThrow(/backbone needs/);
  });
});
