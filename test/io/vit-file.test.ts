import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveBackbone } from '../../src/backbone/shipped';
import { FileFormatError, MissingResourceError } from '../../src/errors';
import { loadVisionTower, saveVitFile } from '../../src/io/vit-file';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors';
import type { ViTConfig } from '../../src/model/config';
import { flattenTree, treeTensors } from '../../src/model/tensor-tree';
import { VisionTransformer } from '../../src/model/vision-transformer';
import { JobResources } from '../../src/parallel';
import { ZOO_TEST_VIT } from '../model/tiny-config';
import { useTestBackend } from '../test-backend';

const STEM_VIT: ViTConfig = { ...ZOO_TEST_VIT, convStem: [5, 7] };
let dir: string;

beforeAll(async () => {
  await useTestBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vit-file-'));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function features(model: VisionTransformer): number[][] {
  return tf.tidy(() => model.forward(tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 9) as tf.Tensor4D).features.arraySync() as number[][]);
}

describe('lora-recycle/vit@1 files (a conv-stem ViT, which CLIP checkpoints cannot hold)', () => {
  it('round-trips a conv-stem ViT through saveBackbone: same config, same features, one file', () => {
    const model = VisionTransformer.random(STEM_VIT, 1);
    const target = path.join(dir, 'stem');
    saveBackbone(target, model);
    expect(fs.readdirSync(target)).toEqual(['model.safetensors']);
    const loaded = loadVisionTower(target);
    expect(loaded.config).toEqual(STEM_VIT);
    const again = new VisionTransformer(loaded.config, loaded.weights);
    expect(features(again)).toEqual(features(model));
    again.dispose();
    model.dispose();
  });

  it('loads a CLIP checkpoint as before, so one loader serves both (saveBackbone of a patch-embedding ViT writes CLIP)', () => {
    const model = VisionTransformer.random(ZOO_TEST_VIT, 2);
    const target = path.join(dir, 'clip');
    saveBackbone(target, model);
    expect(fs.readdirSync(target).sort()).toEqual(['config.json', 'model.safetensors']);
    const loaded = loadVisionTower(target);
    expect(loaded.config.convStem).toBeUndefined();
    const again = new VisionTransformer(loaded.config, loaded.weights);
    const [a, b] = [features(again), features(model)];
    a.flat().forEach((v, i) => expect(v).toBeCloseTo(b.flat()[i], 5));
    again.dispose();
    model.dispose();
  });

  it("the jobs' worker resources load it by file", () => {
    const model = VisionTransformer.random(STEM_VIT, 3);
    const file = path.join(dir, 'worker.safetensors');
    saveVitFile(file, STEM_VIT, model.weights);
    const resources = new JobResources();
    expect(features(resources.backbone(file))).toEqual(features(model));
    resources.dispose();
    model.dispose();
  });

  it('names a missing file, a missing tensor, a misshapen tensor and a bad stored config', () => {
    expect(() => loadVisionTower(path.join(dir, 'nowhere.safetensors'))).toThrow(MissingResourceError);
    const model = VisionTransformer.random(STEM_VIT, 4);
    const named = flattenTree(model.weights);
    const write = (name: string, tensors: Record<string, tf.Tensor>, config: unknown = STEM_VIT) => {
      const file = path.join(dir, name);
      writeSafetensors(file, tensors, { format: 'lora-recycle/vit@1', config: JSON.stringify(config) });
      return file;
    };
    const { 'stem.1.bias': _dropped, ...withoutBias } = named;
    expect(() => loadVisionTower(write('missing.safetensors', withoutBias))).toThrow(/missing tensor "stem\.1\.bias" of shape \[7\]/);
    const misshapen = write('misshapen.safetensors', { ...named, 'stem.0.bias': tf.zeros([6]) });
    expect(() => loadVisionTower(misshapen)).toThrow(FileFormatError);
    expect(() => loadVisionTower(misshapen)).toThrow(/stem\.0\.bias/);
    const badConfig = write('bad-config.safetensors', named, { ...STEM_VIT, convStem: [5] });
    expect(() => loadVisionTower(badConfig)).toThrow(/metadata\.config is not a valid ViTConfig: .*convStem/);
    expect(readSafetensors(badConfig).metadata.format).toBe('lora-recycle/vit@1');
    model.dispose();
    expect(treeTensors(model.weights).every((t) => t.isDisposed)).toBe(true);
  });
});
