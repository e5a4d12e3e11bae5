import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, FileFormatError, MissingResourceError } from '../../src/errors';
import { hfClipClassOf, loadHfClipVision, saveHfClipVision } from '../../src/io/hf-clip';
import { type WritableTensor, readSafetensors, toFloat32, writeSafetensors } from '../../src/io/safetensors';
import type { ViTConfig } from '../../src/model/config';
import { VisionTransformer } from '../../src/model/vision-transformer';
import { treeTensors } from '../../src/model/tensor-tree';
import { useTestBackend } from '../test-backend';

const CONFIG: ViTConfig = {
  imageSize: 16,
  patchSize: 4,
  channels: 3,
  width: 16,
  depth: 2,
  heads: 2,
  mlpWidth: 32,
  projectionDim: 8,
  layerNormEps: 1e-5,
};

let root: string;
let saved: string; // directory holding model.safetensors + config.json written by saveHfClipVision
let reference: VisionTransformer;

/** Copies the saved checkpoint into a new directory after editing its tensors (and optionally config.json). */
function variant(name: string, edit: (t: Map<string, WritableTensor>) => void, keepConfig = true): string {
  const dir = path.join(root, name);
  const tensors = new Map<string, WritableTensor>();
  for (const [key, entry] of readSafetensors(path.join(saved, 'model.safetensors')).tensors) {
    tensors.set(key, { dtype: 'F32', shape: entry.shape, data: toFloat32(entry) });
  }
  edit(tensors);
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  if (keepConfig) fs.copyFileSync(path.join(saved, 'config.json'), path.join(dir, 'config.json'));
  return dir;
}

function disposeLoaded(loaded: { weights: Parameters<typeof treeTensors>[0] }): void {
  tf.dispose(treeTensors(loaded.weights));
}

describe('Hugging Face CLIP vision checkpoints', () => {
  beforeAll(async () => {
    await useTestBackend('cpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'hfclip-'));
    saved = path.join(root, 'saved');
    reference = VisionTransformer.random(CONFIG, 7);
    saveHfClipVision(saved, CONFIG, reference.weights);
  });
  afterAll(() => {
    reference.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('round-trips every weight and the configuration through save and load', () => {
    const loaded = loadHfClipVision(saved);
    expect(loaded.config).toEqual(CONFIG);
    const [expected, found] = [treeTensors(reference.weights), treeTensors(loaded.weights)];
    expect(found.length).toBe(expected.length);
    expected.forEach((t, i) => {
      expect(found[i].shape).toEqual(t.shape);
      expect(Array.from(found[i].dataSync())).toEqual(Array.from(t.dataSync()));
    });
    const json = JSON.parse(fs.readFileSync(path.join(saved, 'config.json'), 'utf8'));
    expect(json).toMatchObject({
      hidden_size: 16,
      num_attention_heads: 2,
      hidden_act: 'quick_gelu',
      architectures: ['CLIPVisionModelWithProjection'],
    });
    disposeLoaded(loaded);
  });

  it('maps the PyTorch conv kernel [D, C, p, p] to rows (py, px, c) and linear [out, in] to [in, out]', () => {
    const raw = readSafetensors(path.join(saved, 'model.safetensors')).tensors;
    const conv = toFloat32(raw.get('vision_model.embeddings.patch_embedding.weight')!);
    const q = toFloat32(raw.get('vision_model.encoder.layers.1.self_attn.q_proj.weight')!);
    const loaded = loadHfClipVision(saved);
    const patch = loaded.weights.patchEmbedding.arraySync();
    const { width: D, channels: C, patchSize: p } = CONFIG;
    for (const [d, c, y, x] of [
      [0, 0, 0, 0],
      [5, 2, 1, 3],
      [15, 1, 3, 0],
      [9, 0, 2, 2],
    ]) {
      expect(patch[(y * p + x) * C + c][d]).toBe(conv[((d * C + c) * p + y) * p + x]);
    }
    const kernel = loaded.weights.blocks[1].q.kernel.arraySync();
    expect(kernel[3][11]).toBe(q[11 * D + 3]);
    disposeLoaded(loaded);
  });

  it('names a missing, a mis-shaped and an unexpected tensor', () => {
    const missing = variant('missing', (t) => t.delete('vision_model.encoder.layers.1.mlp.fc2.bias'));
    expect(() => loadHfClipVision(missing)).toThrow(/missing tensor "vision_model\.encoder\.layers\.1\.mlp\.fc2\.bias"/);
    const misshaped = variant('misshaped', (t) =>
      t.set('vision_model.encoder.layers.0.self_attn.k_proj.weight', { dtype: 'F32', shape: [16, 8], data: new Float32Array(128) }),
    );
    expect(() => loadHfClipVision(misshaped)).toThrow(FileFormatError);
    expect(() => loadHfClipVision(misshaped)).toThrow(
      /"vision_model\.encoder\.layers\.0\.self_attn\.k_proj\.weight": expected shape \[16, 16\], found \[16, 8\]/,
    );
    const extra = variant('extra', (t) =>
      t.set('vision_model.encoder.layers.0.self_attn.gate', { dtype: 'F32', shape: [1], data: new Float32Array(1) }),
    );
    expect(() => loadHfClipVision(extra)).toThrow(/unexpected tensors.*"vision_model\.encoder\.layers\.0\.self_attn\.gate"/);
    expect(() => loadHfClipVision(path.join(root, 'nowhere'))).toThrow(MissingResourceError);
  });

  it('loads half-precision (F16) checkpoints as float32', () => {
    const half = variant('half', (t) => {
      for (const [key, value] of t) t.set(key, { ...(value as { shape: number[]; data: Float32Array }), dtype: 'F16' });
    });
    expect(readSafetensors(path.join(half, 'model.safetensors')).tensors.get('visual_projection.weight')!.dtype).toBe('F16');
    const loaded = loadHfClipVision(half);
    const error = tf.tidy(
      () => tf.abs(tf.sub(loaded.weights.blocks[0].fc1.kernel, reference.weights.blocks[0].fc1.kernel)).max().dataSync()[0],
    );
    expect(error).toBeGreaterThan(0); // really rounded to half precision
    expect(error).toBeLessThan(1e-3);
    disposeLoaded(loaded);
  });

  it('ignores the text tower of a CLIPModel file', () => {
    const clipModel = variant('clipmodel', (t) => {
      t.set('text_model.embeddings.token_embedding.weight', { dtype: 'F32', shape: [4, 2], data: new Float32Array(8) });
      t.set('text_projection.weight', { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) });
      t.set('logit_scale', { dtype: 'F32', shape: [], data: Float32Array.of(2.6) });
    });
    const loaded = loadHfClipVision(path.join(clipModel, 'model.safetensors'));
    expect(loaded.config).toEqual(CONFIG);
    disposeLoaded(loaded);
  });

  it('needs heads from config.json or options', () => {
    const bare = variant('bare', () => undefined, false);
    expect(() => loadHfClipVision(bare)).toThrow(ConfigError);
    expect(() => loadHfClipVision(bare)).toThrow(/attention heads/);
    const loaded = loadHfClipVision(bare, { heads: 4, layerNormEps: 1e-6 });
    expect(loaded.config).toEqual({ ...CONFIG, heads: 4, layerNormEps: 1e-6 });
    disposeLoaded(loaded);
  });

  it('rejects a config.json that contradicts the weights', () => {
    const dir = variant('contradiction', () => undefined);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...json, intermediate_size: 64 }));
    expect(() => loadHfClipVision(dir)).toThrow(/intermediate_size = 64, the weights imply 32/);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...json, hidden_act: 'gelu' }));
    expect(() => loadHfClipVision(dir)).toThrow(/quick_gelu/);
  });

  it('loads a prefix-less CLIPVisionModel file only with an explicit identity projection', () => {
    const plain = variant('plain', (t) => {
      t.delete('visual_projection.weight');
      for (const key of [...t.keys()]) {
        t.set(key.replace(/^vision_model\./, ''), t.get(key)!);
        t.delete(key);
      }
    });
    expect(() => loadHfClipVision(plain)).toThrow(/visual_projection\.weight.*projection: 'identity'/);
    const loaded = loadHfClipVision(plain, { projection: 'identity' });
    expect(loaded.config.projectionDim).toBe(CONFIG.width);
    const eye = tf.eye(CONFIG.width);
    expect(tf.equal(loaded.weights.projection, eye).all().dataSync()[0]).toBe(1);
    expect(Array.from(loaded.weights.blocks[1].fc2.kernel.dataSync())).toEqual(
      Array.from(reference.weights.blocks[1].fc2.kernel.dataSync()),
    );
    eye.dispose();
    disposeLoaded(loaded);
  });

  /** A prefix-less CLIPVisionModel checkpoint with config.json edited by `edit`. */
  function visionModel(name: string, edit: (json: Record<string, unknown>) => Record<string, unknown>): string {
    const dir = variant(name, (t) => {
      t.delete('visual_projection.weight');
      for (const key of [...t.keys()]) {
        t.set(key.replace(/^vision_model\./, ''), t.get(key)!);
        t.delete(key);
      }
    });
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify(edit({ ...json, architectures: ['CLIPVisionModel'], projection_dim: 512 })),
    );
    return dir;
  }

  it('uses the identity projection by default when config.json declares a CLIPVisionModel (whose projection_dim is unused)', () => {
    const dir = visionModel('declared', (json) => json);
    expect(hfClipClassOf(dir)).toBe('CLIPVisionModel');
    const loaded = loadHfClipVision(dir);
    expect(loaded.config).toEqual({ ...CONFIG, projectionDim: CONFIG.width });
    disposeLoaded(loaded);
    expect(() => loadHfClipVision(dir, { projection: 'required' })).toThrow(/visual_projection\.weight/);
    expect(hfClipClassOf(saved)).toBe('CLIPVisionModelWithProjection');
  });

  it('names the config.json field of an unsupported model: model_type, architectures, num_channels, projection_dim', () => {
    expect(() => loadHfClipVision(visionModel('siglip', (j) => ({ ...j, model_type: 'siglip_vision_model' })))).toThrow(
      /model_type is "siglip_vision_model"/,
    );
    expect(() => loadHfClipVision(visionModel('classifier', (j) => ({ ...j, architectures: ['CLIPForImageClassification'] })))).toThrow(
      /architectures is \["CLIPForImageClassification"\]/,
    );
    const projected = path.join(root, 'projected');
    fs.cpSync(saved, projected, { recursive: true });
    const json = JSON.parse(fs.readFileSync(path.join(saved, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(projected, 'config.json'), JSON.stringify({ ...json, projection_dim: 64 }));
    expect(() => loadHfClipVision(projected)).toThrow(/projection_dim = 64, the weights imply 8/);
    const grey = variant(
      'grey',
      (t) => {
        const conv = t.get('vision_model.embeddings.patch_embedding.weight')!;
        t.set('vision_model.embeddings.patch_embedding.weight', {
          dtype: 'F32',
          shape: [CONFIG.width, 1, 4, 4],
          data: (conv.data as Float32Array).slice(0, CONFIG.width * 16),
        });
      },
      false,
    );
    expect(() => loadHfClipVision(grey, { heads: 2 })).toThrow(/num_channels is 1 .*RGB/);
  });

  it("rejects a preprocessor_config.json whose image_mean or image_std differ from CLIP's, naming the field", () => {
    const dir = path.join(root, 'preprocessed');
    fs.cpSync(saved, dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'preprocessor_config.json'),
      JSON.stringify({ image_mean: [0.48145466, 0.4578275, 0.40821073], image_std: [0.26862954, 0.26130258, 0.27577711] }),
    );
    disposeLoaded(loadHfClipVision(dir));
    fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify({ image_mean: [0.5, 0.5, 0.5] }));
    expect(() => loadHfClipVision(dir)).toThrow(ConfigError);
    expect(() => loadHfClipVision(dir)).toThrow(/image_mean is \[0\.5,0\.5,0\.5\]/);
  });
});
