/**
 * A minimal CLIP-style ViT written directly on src/ops, with LoRA on q and v: the op-level
 * reference the engine benchmark times next to src/model's VisionTransformer (it shows what
 * the ops alone cost, and lets the benchmark run before src/model exists).
 */
import * as tf from '@tensorflow/tfjs';
import type { ViTConfig } from '../src/model/config';
import { attention, extractPatches, layerNorm, linear, matMul2d, quickGelu } from '../src/ops';

interface Block {
  ln1: [tf.Tensor1D, tf.Tensor1D];
  q: [tf.Tensor2D, tf.Tensor1D];
  k: [tf.Tensor2D, tf.Tensor1D];
  v: [tf.Tensor2D, tf.Tensor1D];
  out: [tf.Tensor2D, tf.Tensor1D];
  ln2: [tf.Tensor1D, tf.Tensor1D];
  fc1: [tf.Tensor2D, tf.Tensor1D];
  fc2: [tf.Tensor2D, tf.Tensor1D];
  lora: { q: [tf.Variable, tf.Variable]; v: [tf.Variable, tf.Variable] }; // A [D, r], B [r, D]
}

export class ReferenceViT {
  private constructor(
    readonly config: ViTConfig,
    private readonly patchKernel: tf.Tensor2D, // [p·p·C, D]
    private readonly cls: tf.Tensor2D, // [1, D]
    private readonly positions: tf.Tensor2D, // [T, D]
    private readonly preLn: [tf.Tensor1D, tf.Tensor1D],
    private readonly blocks: Block[],
    private readonly postLn: [tf.Tensor1D, tf.Tensor1D],
    private readonly projection: tf.Tensor2D, // [D, projectionDim]
  ) {}

  static random(config: ViTConfig, rank: number, seed: number): ReferenceViT {
    let s = seed;
    const w = (shape: number[]) => tf.randomNormal(shape, 0, 0.02, 'float32', s++);
    const ln = (): [tf.Tensor1D, tf.Tensor1D] => [tf.ones([config.width]), tf.zeros([config.width])];
    const dense = (i: number, o: number): [tf.Tensor2D, tf.Tensor1D] => [w([i, o]) as tf.Tensor2D, tf.zeros([o])];
    const d = config.width;
    const lora = (): [tf.Variable, tf.Variable] => [tf.variable(w([d, rank])), tf.variable(w([rank, d]))];
    const tokens = (config.imageSize / config.patchSize) ** 2 + 1;
    const blocks = Array.from({ length: config.depth }, () => ({
      ln1: ln(), q: dense(d, d), k: dense(d, d), v: dense(d, d), out: dense(d, d), ln2: ln(),
      fc1: dense(d, config.mlpWidth), fc2: dense(config.mlpWidth, d), lora: { q: lora(), v: lora() },
    }));
    const p = config.patchSize;
    return new ReferenceViT(config, w([p * p * config.channels, d]) as tf.Tensor2D, w([1, d]) as tf.Tensor2D,
      w([tokens, d]) as tf.Tensor2D, ln(), blocks, ln(), w([d, config.projectionDim]) as tf.Tensor2D);
  }

  trainableVariables(): tf.Variable[] {
    return this.blocks.flatMap((b) => [...b.lora.q, ...b.lora.v]);
  }

  /** images [B, H, W, C] → features [B, projectionDim]. */
  forward(images: tf.Tensor4D): tf.Tensor2D {
    const { width: d, heads, layerNormEps: eps } = this.config;
    const b = images.shape[0];
    const embedded = tf.reshape(matMul2d(extractPatches(images, this.config.patchSize), this.patchKernel), [b, -1, d]);
    const tokens = (embedded.shape[1] as number) + 1;
    const withCls = tf.concat([tf.tile(tf.reshape(this.cls, [1, 1, d]), [b, 1, 1]), embedded], 1); // [B, T, D]
    let x = layerNorm(tf.reshape(tf.add(withCls, this.positions), [b * tokens, d]), ...this.preLn, eps); // [B·T, D]
    for (const block of this.blocks) {
      const h = layerNorm(x, ...block.ln1, eps);
      // separate q, k, v products: splitting a fused [D, 3D] output (SplitV) is slow on wasm
      const lora = ([a, bb]: [tf.Variable, tf.Variable]) => matMul2d(matMul2d(h, a as tf.Tensor2D), bb as tf.Tensor2D);
      const q = tf.add(linear(h, ...block.q), lora(block.lora.q)) as tf.Tensor2D;
      const v = tf.add(linear(h, ...block.v), lora(block.lora.v)) as tf.Tensor2D;
      const { output } = attention(q, linear(h, ...block.k), v, { batch: b, tokens, heads });
      x = tf.add(x, linear(output, ...block.out)) as tf.Tensor2D;
      const m = linear(quickGelu(linear(layerNorm(x, ...block.ln2, eps), ...block.fc1)), ...block.fc2);
      x = tf.add(x, m) as tf.Tensor2D;
    }
    const pooled = tf.reshape(tf.slice(tf.reshape(x, [b, tokens, d]), [0, 0, 0], [b, 1, d]), [b, d]) as tf.Tensor2D;
    return matMul2d(layerNorm(pooled, ...this.postLn, eps), this.projection);
  }
}
