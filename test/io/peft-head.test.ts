import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileFormatError, MissingResourceError } from '../../src/errors';
import { disposeLoraRecord } from '../../src/io/lora-file';
import { loadLoraRecord } from '../../src/io/load-lora';
import { loadPeftAdapter } from '../../src/io/peft-adapter';
import { readPeftHead } from '../../src/io/peft-head';
import { type WritableTensor, writeSafetensors } from '../../src/io/safetensors';
import type { ViTConfig } from '../../src/model/config';
import { useTestBackend } from '../test-backend';

/** The backbone the PEFT fixture was made for (test/io/fixtures/peft-clip-r4/README.md). */
const FIXTURE_CONFIG: ViTConfig = {
  imageSize: 32,
  patchSize: 4,
  channels: 3,
  width: 64,
  depth: 2,
  heads: 2,
  mlpWidth: 128,
  projectionDim: 32,
  layerNormEps: 1e-5,
};
const FIXTURE = path.join(__dirname, 'fixtures', 'peft-clip-r4');

let root: string;
beforeAll(async () => {
  await useTestBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'peft-head-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A copy of the real PEFT fixture with head.safetensors (`tensors`) and classes.json (`classes`) where given. */
function adapterWithHead(name: string, tensors?: Record<string, WritableTensor>, classes?: unknown): string {
  const dir = path.join(root, name);
  fs.cpSync(FIXTURE, dir, { recursive: true });
  if (tensors) writeSafetensors(path.join(dir, 'head.safetensors'), tensors, { format: 'pt' });
  if (classes !== undefined) fs.writeFileSync(path.join(dir, 'classes.json'), JSON.stringify(classes));
  return dir;
}

/** nn.Linear(D, N).state_dict(): weight [N, D] with value 100·n + d, bias [N] with value n. */
function linear(classes: number, inDim: number): Record<string, WritableTensor> {
  const weight = Float32Array.from({ length: classes * inDim }, (_, i) => 100 * Math.floor(i / inDim) + (i % inDim));
  return {
    weight: { dtype: 'F32', shape: [classes, inDim], data: weight },
    bias: { dtype: 'F32', shape: [classes], data: Float32Array.from({ length: classes }, (_, n) => n) },
  };
}

describe('the task head of a PEFT adapter directory (head.safetensors + classes.json)', () => {
  it('loads with the adapter: weight [N, D] becomes our [D, N], the classes come from classes.json, nothing leaks', () => {
    const dir = adapterWithHead('good', linear(3, 32), ['cat', 'dog', 'emu']);
    const before = tf.memory().numTensors;
    const record = loadLoraRecord(dir, FIXTURE_CONFIG);
    expect(record.classIds).toEqual(['cat', 'dog', 'emu']);
    expect(record.head!.weight.shape).toEqual([32, 3]);
    const w = record.head!.weight.arraySync();
    expect([w[5][0], w[5][2], w[31][1]]).toEqual([5, 205, 131]);
    expect(Array.from(record.head!.bias.dataSync())).toEqual([0, 1, 2]);
    expect(record.parameters.rank).toBe(4);
    disposeLoraRecord(record);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is optional: a bare adapter has no head, classes.json alone names the classes', () => {
    const bare = loadPeftAdapter(adapterWithHead('bare'), FIXTURE_CONFIG);
    expect(bare.head).toBeUndefined();
    expect(bare.classIds).toEqual([]);
    disposeLoraRecord(bare);
    expect(readPeftHead(adapterWithHead('named', undefined, ['a', 'b'])).classIds).toEqual(['a', 'b']);
  });

  it("says what is wrong: a head without classes.json, a feature size not the backbone's, a class count mismatch, stray tensors", () => {
    const before = tf.memory().numTensors;
    expect(() => loadPeftAdapter(adapterWithHead('no-classes', linear(3, 32)), FIXTURE_CONFIG)).toThrow(MissingResourceError);
    expect(() => loadPeftAdapter(adapterWithHead('no-classes', linear(3, 32)), FIXTURE_CONFIG)).toThrow(/classes\.json: no such file/);
    expect(() => loadPeftAdapter(adapterWithHead('wide', linear(3, 64), ['a', 'b', 'c']), FIXTURE_CONFIG)).toThrow(
      /head\.safetensors: tensor "weight": expected \[classes, 32\].*found \[3, 64\]/,
    );
    expect(() => loadPeftAdapter(adapterWithHead('count', linear(3, 32), ['a', 'b']), FIXTURE_CONFIG)).toThrow(
      /classes\.json: names 2 classes, but the head .* has 3/,
    );
    expect(() =>
      loadPeftAdapter(
        adapterWithHead('stray', { ...linear(3, 32), scale: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } }, ['a', 'b', 'c']),
      ),
    ).toThrow(/unexpected tensor "scale"/);
    expect(() => loadPeftAdapter(adapterWithHead('nobias', { weight: linear(3, 32).weight }, ['a', 'b', 'c']))).toThrow(
      /missing tensor "bias"/,
    );
    expect(() => readPeftHead(adapterWithHead('bad-json', undefined, { cat: 0 }))).toThrow(FileFormatError);
    expect(tf.memory().numTensors).toBe(before); // the factors read before a failing head are freed
  });
});
