import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, FileFormatError, MissingResourceError } from '../errors';
import { type ViTConfig, validateViTConfig } from '../model/config';
import { validateViTWeights } from '../model/validate-weights';
import type { BlockWeights, LayerNormWeights, LinearWeights, ViTWeights } from '../model/weights';
import { writeJsonAtomic } from './atomic-write';
import { checkHfPreprocessor, completeConfig, declaredClipClass, hfVisionConfigJson, readHfVisionConfig } from './hf-clip-config';
import type { HfClipClass } from './peft-names';
import { convToPatchMatrix, identity, patchMatrixToConv, transposeValues } from './layouts';
import {
  type SafetensorsContents,
  type SafetensorsEntry,
  type WritableTensor,
  readSafetensors,
  toFloat32,
  writeSafetensors,
} from './safetensors';

/**
 * Hugging Face CLIP vision checkpoints ↔ ViTWeights.
 * Supported files: `model.safetensors` of CLIPVisionModelWithProjection and CLIPModel (tower under
 * `vision_model.`, projection `visual_projection.weight`; text tower ignored) and of
 * CLIPVisionModel (transformers ≥ 5 saves it without the `vision_model.` prefix, older versions with
 * it). CLIPVisionModel has no projection: f(x) is then the post-LayerNorm [CLS] (projectionDim =
 * width), i.e. HF's `pooler_output`; that is the default when config.json declares the class
 * (`architectures: ["CLIPVisionModel"]`), and needs `projection: 'identity'` otherwise.
 */
export interface HfClipLoadOptions {
  /** Attention heads, when no config.json lies next to the weights. */
  heads?: number;
  /** Overrides config.json's layer_norm_eps (default 1e-5). */
  layerNormEps?: number;
  /**
   * What to do without `visual_projection.weight`: fail or use the identity. Default: the identity
   * when config.json declares a CLIPVisionModel, else fail.
   */
  projection?: 'required' | 'identity';
}

export interface LoadedVisionTower {
  config: ViTConfig;
  weights: ViTWeights;
}

/** Keys a CLIPModel / older transformers file may hold that the vision tower does not use. */
const IGNORED = [/^text_model\./, /^text_projection\./, /^logit_scale$/, /(^|\.)position_ids$/];

/** Where a save to `target` writes: the path itself when it ends in .safetensors, else model.safetensors in that directory. */
export function weightsFileFor(target: string): string {
  return target.endsWith('.safetensors') ? target : path.join(target, 'model.safetensors');
}

/** A file path, or a directory holding model.safetensors (MissingResourceError when there is none). */
export function resolveWeightsFile(target: string): string {
  const file = fs.existsSync(target) && fs.statSync(target).isDirectory() ? path.join(target, 'model.safetensors') : target;
  if (!fs.existsSync(file)) {
    const sharded = `${file}.index.json`;
    throw new MissingResourceError(
      fs.existsSync(sharded)
        ? `${file}: sharded checkpoints are not supported; merge the shards into one model.safetensors`
        : `${file}: no such file (expected a CLIP model.safetensors or a directory holding one)`,
    );
  }
  return file;
}

/** Reads tensors by name, checking shapes and remembering which names were used. */
class TensorTaker {
  readonly used = new Set<string>();
  constructor(
    private readonly tensors: Map<string, SafetensorsEntry>,
    private readonly file: string,
  ) {}

  shapeOf(name: string): number[] {
    const entry = this.tensors.get(name);
    if (!entry) throw new FileFormatError(this.file, `missing tensor "${name}" (not a CLIP vision checkpoint?)`);
    return entry.shape;
  }

  take(name: string, shape: number[]): Float32Array {
    const found = this.shapeOf(name);
    if (found.join(',') !== shape.join(',')) {
      throw new FileFormatError(this.file, `tensor "${name}": expected shape [${shape.join(', ')}], found [${found.join(', ')}]`);
    }
    this.used.add(name);
    return toFloat32(this.tensors.get(name)!);
  }

  unused(): string[] {
    return [...this.tensors.keys()].filter((name) => !this.used.has(name) && !IGNORED.some((re) => re.test(name)));
  }
}

/** Host arrays of one checkpoint, converted to our layouts; tensors are made only once all are read. */
interface HostLinear {
  kernel: Float32Array;
  bias: Float32Array;
  inDim: number;
  outDim: number;
}
interface HostNorm {
  gamma: Float32Array;
  beta: Float32Array;
}

function layerIndices(names: string[], prefix: string, file: string): number {
  const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}encoder\\.layers\\.(\\d+)\\.`);
  const indices = new Set<number>();
  for (const name of names) {
    const match = pattern.exec(name);
    if (match) indices.add(Number(match[1]));
  }
  const depth = indices.size;
  for (let i = 0; i < depth; i++) {
    if (!indices.has(i)) throw new FileFormatError(file, `encoder layers are not numbered 0..${depth - 1}: layer ${i} is missing`);
  }
  if (depth === 0) throw new FileFormatError(file, `no tensors named "${prefix}encoder.layers.{i}.*"`);
  return depth;
}

/**
 * Loads a Hugging Face CLIP vision tower. Sizes come from the tensor shapes; heads and ε from
 * config.json beside the file (or options). Missing, unexpected or mis-shaped tensors are
 * FileFormatErrors naming the tensor. The caller owns the returned tensors.
 */
export function loadHfClipVision(target: string, options: HfClipLoadOptions = {}): LoadedVisionTower {
  const file = resolveWeightsFile(target);
  return hfClipFromContents(file, readSafetensors(file), options);
}

/** loadHfClipVision on a file already read (`file` its path: config.json lies beside it). */
export function hfClipFromContents(file: string, contents: SafetensorsContents, options: HfClipLoadOptions = {}): LoadedVisionTower {
  const { tensors } = contents;
  const prefix = tensors.has('vision_model.embeddings.class_embedding') ? 'vision_model.' : '';
  const taker = new TensorTaker(tensors, file);
  const n = (name: string) => `${prefix}${name}`;

  const [width, channels, patchSize] = taker.shapeOf(n('embeddings.patch_embedding.weight'));
  const tokens = taker.shapeOf(n('embeddings.position_embedding.weight'))[0];
  const side = Math.round(Math.sqrt(tokens - 1));
  if (side * side !== tokens - 1) {
    throw new FileFormatError(
      file,
      `tensor "${n('embeddings.position_embedding.weight')}": ${tokens} rows is not 1 + a square number of patches`,
    );
  }
  const depth = layerIndices([...tensors.keys()], prefix, file);
  const mlpWidth = taker.shapeOf(n('encoder.layers.0.mlp.fc1.weight'))[0];
  const json = readHfVisionConfig(path.dirname(file));
  const declared = declaredClipClass(json, path.join(path.dirname(file), 'config.json'));
  checkHfPreprocessor(path.dirname(file));
  const projection = options.projection ?? (declared === 'CLIPVisionModel' ? 'identity' : 'required');
  const hasProjection = tensors.has('visual_projection.weight');
  if (!hasProjection && projection !== 'identity') {
    throw new FileFormatError(
      file,
      `missing tensor "visual_projection.weight"${declared && declared !== 'CLIPVisionModel' ? ` (config.json declares a ${declared}, which has one)` : ' (a CLIPVisionModel checkpoint has no projection)'}; ` +
        "pass { projection: 'identity' } to use the post-LayerNorm [CLS] as the feature",
    );
  }
  const projectionDim = hasProjection ? taker.shapeOf('visual_projection.weight')[0] : width;
  const config = completeConfig(
    { imageSize: side * patchSize, patchSize, channels, width, depth, mlpWidth, projectionDim },
    json,
    { ...options, projected: hasProjection },
    file,
  );
  validateViTConfig(config);

  const linear = (name: string, inDim: number, outDim: number): HostLinear => ({
    kernel: transposeValues(taker.take(`${name}.weight`, [outDim, inDim]), outDim, inDim),
    bias: taker.take(`${name}.bias`, [outDim]),
    inDim,
    outDim,
  });
  const norm = (name: string): HostNorm => ({ gamma: taker.take(`${name}.weight`, [width]), beta: taker.take(`${name}.bias`, [width]) });

  const host = {
    patch: convToPatchMatrix(
      taker.take(n('embeddings.patch_embedding.weight'), [width, channels, patchSize, patchSize]),
      width,
      channels,
      patchSize,
    ),
    cls: taker.take(n('embeddings.class_embedding'), [width]),
    positions: taker.take(n('embeddings.position_embedding.weight'), [tokens, width]),
    pre: norm(n('pre_layrnorm')),
    blocks: Array.from({ length: depth }, (_, i) => {
      const b = n(`encoder.layers.${i}.`);
      return {
        ln1: norm(`${b}layer_norm1`),
        q: linear(`${b}self_attn.q_proj`, width, width),
        k: linear(`${b}self_attn.k_proj`, width, width),
        v: linear(`${b}self_attn.v_proj`, width, width),
        o: linear(`${b}self_attn.out_proj`, width, width),
        ln2: norm(`${b}layer_norm2`),
        fc1: linear(`${b}mlp.fc1`, width, mlpWidth),
        fc2: linear(`${b}mlp.fc2`, mlpWidth, width),
      };
    }),
    post: norm(n('post_layernorm')),
    projection: hasProjection
      ? transposeValues(taker.take('visual_projection.weight', [projectionDim, width]), projectionDim, width)
      : identity(width),
  };
  const extra = taker.unused();
  if (extra.length > 0) {
    throw new FileFormatError(
      file,
      `unexpected tensors for a CLIP vision tower: ${extra
        .slice(0, 5)
        .map((x) => `"${x}"`)
        .join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''}`,
    );
  }

  const toLinear = (h: HostLinear): LinearWeights => ({
    kernel: tf.tensor2d(h.kernel, [h.inDim, h.outDim]),
    bias: tf.tensor1d(h.bias),
  });
  const toNorm = (h: HostNorm): LayerNormWeights => ({ gamma: tf.tensor1d(h.gamma), beta: tf.tensor1d(h.beta) });
  const weights: ViTWeights = {
    patchEmbedding: tf.tensor2d(host.patch, [patchSize * patchSize * channels, width]),
    classEmbedding: tf.tensor1d(host.cls),
    positionEmbedding: tf.tensor2d(host.positions, [tokens, width]),
    preLayerNorm: toNorm(host.pre),
    blocks: host.blocks.map(
      (b): BlockWeights => ({
        ln1: toNorm(b.ln1),
        q: toLinear(b.q),
        k: toLinear(b.k),
        v: toLinear(b.v),
        o: toLinear(b.o),
        ln2: toNorm(b.ln2),
        fc1: toLinear(b.fc1),
        fc2: toLinear(b.fc2),
      }),
    ),
    postLayerNorm: toNorm(host.post),
    projection: tf.tensor2d(host.projection, [width, projectionDim]),
  };
  return { config, weights };
}

/**
 * The transformers class of the checkpoint in `target` (a directory or its model.safetensors):
 * what config.json declares, else CLIPVisionModelWithProjection or, without a projection tensor,
 * CLIPVisionModel. It decides the module paths of PEFT adapters for it (peft-names.ts).
 */
export function hfClipClassOf(target: string): HfClipClass {
  const file = resolveWeightsFile(target);
  const declared = declaredClipClass(readHfVisionConfig(path.dirname(file)), path.join(path.dirname(file), 'config.json'));
  if (declared) return declared;
  return readSafetensors(file).tensors.has('visual_projection.weight') ? 'CLIPVisionModelWithProjection' : 'CLIPVisionModel';
}

/**
 * Writes `weights` as a CLIPVisionModelWithProjection checkpoint: `model.safetensors` (F32, PyTorch
 * layouts) plus `config.json`, so that `CLIPVisionModelWithProjection.from_pretrained(dir)` loads it.
 * `target` is a directory or a path ending in .safetensors (config.json goes beside it).
 */
export function saveHfClipVision(target: string, config: ViTConfig, weights: ViTWeights): void {
  validateViTConfig(config);
  if (config.convStem) throw new ConfigError('saveHfClipVision: a ViT with a conv stem (ViTConfig.convStem) has no CLIP checkpoint layout');
  validateViTWeights(config, weights);
  const file = weightsFileFor(target);
  const { width, channels, patchSize, mlpWidth, projectionDim } = config;
  const out: Record<string, WritableTensor> = {};
  const put = (name: string, shape: number[], data: Float32Array) => {
    out[name] = { dtype: 'F32', shape, data };
  };
  const values = (t: tf.Tensor) => t.dataSync() as Float32Array;
  const putLinear = (name: string, w: LinearWeights, inDim: number, outDim: number) => {
    put(`${name}.weight`, [outDim, inDim], transposeValues(values(w.kernel), inDim, outDim));
    put(`${name}.bias`, [outDim], w.bias ? values(w.bias) : new Float32Array(outDim));
  };
  const putNorm = (name: string, w: LayerNormWeights) => {
    put(`${name}.weight`, [width], values(w.gamma));
    put(`${name}.bias`, [width], values(w.beta));
  };
  const v = 'vision_model.';
  put(
    `${v}embeddings.patch_embedding.weight`,
    [width, channels, patchSize, patchSize],
    patchMatrixToConv(values(weights.patchEmbedding), width, channels, patchSize),
  );
  put(`${v}embeddings.class_embedding`, [width], values(weights.classEmbedding));
  put(`${v}embeddings.position_embedding.weight`, weights.positionEmbedding.shape, values(weights.positionEmbedding));
  putNorm(`${v}pre_layrnorm`, weights.preLayerNorm);
  weights.blocks.forEach((b, i) => {
    const p = `${v}encoder.layers.${i}.`;
    putNorm(`${p}layer_norm1`, b.ln1);
    putLinear(`${p}self_attn.q_proj`, b.q, width, width);
    putLinear(`${p}self_attn.k_proj`, b.k, width, width);
    putLinear(`${p}self_attn.v_proj`, b.v, width, width);
    putLinear(`${p}self_attn.out_proj`, b.o, width, width);
    putNorm(`${p}layer_norm2`, b.ln2);
    putLinear(`${p}mlp.fc1`, b.fc1, width, mlpWidth);
    putLinear(`${p}mlp.fc2`, b.fc2, mlpWidth, width);
  });
  putNorm(`${v}post_layernorm`, weights.postLayerNorm);
  put('visual_projection.weight', [projectionDim, width], transposeValues(values(weights.projection), width, projectionDim));
  writeSafetensors(file, out, { format: 'pt' });
  writeJsonAtomic(path.join(path.dirname(file), 'config.json'), hfVisionConfigJson(config));
}
