import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoRA } from '../../src/adapters/lora';
import { CompatibilityError, FileFormatError, ShapeError } from '../../src/errors';
import { type LoraRecord, disposeLoraRecord, loadLoraFile, saveLoraFile } from '../../src/io/lora-file';
import { loadPeftAdapter, savePeftAdapter } from '../../src/io/peft-adapter';
import { type WritableTensor, readSafetensors, toFloat32, writeSafetensors } from '../../src/io/safetensors';
import type { ViTConfig } from '../../src/model/config';
import { useTestBackend } from '../test-backend';

const CONFIG: ViTConfig = {
  imageSize: 16,
  patchSize: 4,
  channels: 3,
  width: 16,
  depth: 3,
  heads: 2,
  mlpWidth: 32,
  projectionDim: 8,
  layerNormEps: 1e-5,
};
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

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lorafile-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A fresh directory of this test file's temp root (removed after the file's tests). */
function tmp(): string {
  return fs.mkdtempSync(path.join(root, 'case-'));
}

/** A record with random non-zero factors on q, v and fc1, a 5-class head and metadata. */
function sampleRecord(): LoraRecord {
  const lora = LoRA.create(CONFIG, { rank: 3, targets: ['q', 'v', 'fc1'], alpha: 6, seed: 3 });
  const parameters = lora.toParameters();
  lora.dispose();
  parameters.factors.forEach((f, i) => {
    const random = tf.randomNormal(f.b.shape, 0, 1, 'float32', 100 + i) as tf.Tensor2D;
    f.b.dispose();
    f.b = random;
  });
  return {
    parameters,
    head: { weight: tf.randomNormal([8, 5], 0, 1, 'float32', 9) as tf.Tensor2D, bias: tf.tensor1d([1, 2, 3, 4, 5]) },
    classIds: ['cat', 'dog', 'emu', 'fox', 'gnu'],
    metadata: { backbone: 'tiny-vit@1', tuning: { steps: 10, lr: 0.001 } },
  };
}

function expectSameRecord(found: LoraRecord, expected: LoraRecord): void {
  expect(found.parameters.rank).toBe(expected.parameters.rank);
  expect(found.parameters.scale).toBeCloseTo(expected.parameters.scale, 12);
  expect(found.parameters.factors.map((f) => f.site)).toEqual(expected.parameters.factors.map((f) => f.site));
  found.parameters.factors.forEach((f, i) => {
    expect(f.a.arraySync()).toEqual(expected.parameters.factors[i].a.arraySync());
    expect(f.b.arraySync()).toEqual(expected.parameters.factors[i].b.arraySync());
  });
}

/** Rewrites a saved file with edited tensors (metadata kept unless replaced). */
function edited(file: string, edit: (t: Map<string, WritableTensor>, m: Record<string, string>) => void): string {
  const { metadata, tensors } = readSafetensors(file);
  const copy = new Map<string, WritableTensor>();
  for (const [k, e] of tensors) copy.set(k, { dtype: 'F32', shape: e.shape, data: toFloat32(e) });
  const meta = { ...metadata };
  edit(copy, meta);
  const out = path.join(tmp(), 'edited.safetensors');
  writeSafetensors(out, copy, meta);
  return out;
}

describe('LoRA files', () => {
  beforeAll(async () => {
    await useTestBackend('cpu');
  });

  it('round-trips factors, head, class ids and metadata, checked against the backbone', () => {
    const record = sampleRecord();
    const file = path.join(tmp(), 'a.lora.safetensors');
    saveLoraFile(file, record);
    const loaded = loadLoraFile(file, CONFIG);
    expectSameRecord(loaded, record);
    expect(loaded.head!.weight.arraySync()).toEqual(record.head!.weight.arraySync());
    expect(Array.from(loaded.head!.bias.dataSync())).toEqual([1, 2, 3, 4, 5]);
    expect(loaded.classIds).toEqual(record.classIds);
    expect(loaded.metadata).toEqual(record.metadata);
    disposeLoraRecord(loaded);
    disposeLoraRecord(record);
  });

  it('stores factors under PEFT names in PEFT layout (A [r, in], B [out, r]) and the head as [N, D]', () => {
    const record = sampleRecord();
    const file = path.join(tmp(), 'b.safetensors');
    saveLoraFile(file, record);
    const { metadata, tensors } = readSafetensors(file);
    const a = tensors.get('base_model.model.vision_model.encoder.layers.2.mlp.fc1.lora_A.weight')!;
    const b = tensors.get('base_model.model.vision_model.encoder.layers.0.self_attn.v_proj.lora_B.weight')!;
    expect(a.shape).toEqual([3, 16]);
    expect(b.shape).toEqual([16, 3]);
    const ours = record.parameters.factors.find((f) => f.site.layer === 2 && f.site.projection === 'fc1')!.a.arraySync();
    expect(toFloat32(a)[1 * 16 + 7]).toBe(ours[7][1]);
    expect(tensors.get('head.weight')!.shape).toEqual([5, 8]);
    expect(metadata).toMatchObject({ format: 'pt', lora_recycle: 'lora@1', rank: '3', scale: '2', alpha: '6' });
    expect(JSON.parse(metadata.targets)).toEqual(['q_proj', 'v_proj', 'fc1']);
    disposeLoraRecord(record);
  });

  it('rejects files that do not fit together or do not fit the backbone, naming the tensor', () => {
    const record = sampleRecord();
    const file = path.join(tmp(), 'c.safetensors');
    saveLoraFile(file, record);
    disposeLoraRecord(record);
    const q1A = 'base_model.model.vision_model.encoder.layers.1.self_attn.q_proj.lora_A.weight';
    expect(() => loadLoraFile(edited(file, (t) => t.delete(q1A)))).toThrow(/lora_B\.weight" without its lora_A partner/);
    expect(() => loadLoraFile(edited(file, (t) => t.set(q1A, { dtype: 'F32', shape: [2, 16], data: new Float32Array(32) })))).toThrow(
      /rank|\[out, 2\]/,
    );
    expect(() =>
      loadLoraFile(
        edited(file, (_, m) => {
          m.class_ids = '["a"]';
        }),
      ),
    ).toThrow(/5 classes but __metadata__\.class_ids lists 1/);
    expect(() =>
      loadLoraFile(
        edited(file, (_, m) => {
          m.rank = '4';
        }),
      ),
    ).toThrow(/rank is 4 but the factors have rank 3/);
    expect(() => loadLoraFile(edited(file, (t) => t.set('extra.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) })))).toThrow(
      /unexpected tensor "extra\.weight"/,
    );
    expect(() => loadLoraFile(file, { ...CONFIG, depth: 2 })).toThrow(/layer 2 does not exist in a 2-layer backbone/);
    expect(() => loadLoraFile(file, { ...CONFIG, mlpWidth: 64 })).toThrow(FileFormatError);
    expect(() => loadLoraFile(file, { ...CONFIG, projectionDim: 4 })).toThrow(/"head\.weight": expected \[classes, 4\]/);
    expect(() => loadLoraFile(path.join(FIXTURE, 'adapter_model.safetensors'))).toThrow(/loadPeftAdapter/);
  });

  it('refuses to save inconsistent shapes', () => {
    const record = sampleRecord();
    const bias = record.head!.bias;
    record.head!.bias = tf.tensor1d([1, 2]);
    expect(() => saveLoraFile(path.join(tmp(), 'd.safetensors'), record)).toThrow(ShapeError);
    bias.dispose();
    disposeLoraRecord(record);
  });

  it('reads a real PEFT 0.21 save_pretrained directory: scale α/r, factors transposed to our layout', () => {
    const before = tf.memory().numTensors;
    const record = loadPeftAdapter(FIXTURE, FIXTURE_CONFIG);
    expect(record.parameters.rank).toBe(4);
    expect(record.parameters.scale).toBe(2); // lora_alpha 8 / r 4
    expect(record.parameters.factors.map((f) => `${f.site.layer}.${f.site.projection}`)).toEqual(['0.q', '0.v', '1.q', '1.v']);
    const raw = readSafetensors(path.join(FIXTURE, 'adapter_model.safetensors')).tensors;
    const rawB = toFloat32(raw.get('base_model.model.vision_model.encoder.layers.1.self_attn.v_proj.lora_B.weight')!); // [64, 4]
    const ours = record.parameters.factors[3].b.arraySync(); // [4, 64]
    expect(ours[2][50]).toBe(rawB[50 * 4 + 2]);
    expect(record.head).toBeUndefined();
    expect(record.classIds).toEqual([]);
    disposeLoraRecord(record);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('applies use_rslora and rejects DoRA, per-module ranks and a mismatched backbone', () => {
    const dir = tmp();
    fs.copyFileSync(path.join(FIXTURE, 'adapter_model.safetensors'), path.join(dir, 'adapter_model.safetensors'));
    const config = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'adapter_config.json'), 'utf8'));
    const write = (patch: object) => fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ ...config, ...patch }));
    write({ use_rslora: true, lora_alpha: 8 });
    const rs = loadPeftAdapter(dir);
    expect(rs.parameters.scale).toBe(4); // 8 / √4
    disposeLoraRecord(rs);
    write({ use_dora: true });
    expect(() => loadPeftAdapter(dir)).toThrow(CompatibilityError);
    write({ rank_pattern: { q_proj: 8 } });
    expect(() => loadPeftAdapter(dir)).toThrow(/rank_pattern/);
    write({ r: 8 });
    expect(() => loadPeftAdapter(dir)).toThrow(/r = 8 but the factors have rank 4/);
    write({});
    expect(() => loadPeftAdapter(dir, { ...FIXTURE_CONFIG, width: 32 })).toThrow(FileFormatError);
  });

  it('writes PEFT adapter directories (head in head.safetensors + classes.json) that it reads back identically', () => {
    const record = sampleRecord();
    const dir = tmp();
    savePeftAdapter(dir, record);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
    const sites = [0, 1, 2].flatMap((i) =>
      ['self_attn.q_proj', 'self_attn.v_proj', 'mlp.fc1'].map((m) => `vision_model.encoder.layers.${i}.${m}`),
    );
    expect(config).toMatchObject({ peft_type: 'LORA', r: 3, lora_alpha: 6, target_modules: sites, layers_to_transform: null });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'classes.json'), 'utf8'))).toEqual(record.classIds);
    const back = loadPeftAdapter(dir, CONFIG);
    expectSameRecord(back, record);
    expect(back.classIds).toEqual(record.classIds);
    expect(back.head!.weight.arraySync()).toEqual(record.head!.weight.arraySync());
    expect(back.head!.bias.arraySync()).toEqual(record.head!.bias.arraySync());
    disposeLoraRecord(back);
    disposeLoraRecord(record);
  });

  it('names the modules of a CLIPVisionModel without the vision_model. prefix (transformers 5 keeps its encoder at the top)', () => {
    const record = sampleRecord();
    const dir = tmp();
    savePeftAdapter(dir, record, { baseModel: 'CLIPVisionModel', baseModelPath: '/models/clip' });
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
    expect(config.target_modules[0]).toBe('encoder.layers.0.self_attn.q_proj');
    expect(config.base_model_name_or_path).toBe('/models/clip');
    const names = [...readSafetensors(path.join(dir, 'adapter_model.safetensors')).tensors.keys()];
    expect(names).toContain('base_model.model.encoder.layers.2.mlp.fc1.lora_B.weight');
    expect(names.some((n) => n.includes('vision_model'))).toBe(false);
    const back = loadPeftAdapter(dir, CONFIG);
    expectSameRecord(back, record);
    disposeLoraRecord(back);
    disposeLoraRecord(record);
  });
});
