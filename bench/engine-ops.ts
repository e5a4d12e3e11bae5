/**
 * Per-op benchmark at the tiny ViT's shapes (batch 25 → 1625 token rows): each fast op of
 * src/ops against the stock-tfjs formulation it replaces, forward+backward, interleaved in one
 * run so that a shared CPU's load affects both alike. Writes bench/results/engine-ops.{json,md}.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '../src/backend/wasm';
import { attention, layerNorm, linear, matMul2d, quickGelu, selectTokens } from '../src/ops';
import { writeAtomic } from './engine-report';

interface Case {
  op: string;
  flops: number; // forward+backward, matrix products only
  stock: () => void;
  fast: () => void;
}

const M = 1625; // 25 images × 65 tokens
const D = 192;

function gradStep(f: (...x: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): () => void {
  return () =>
    tf.tidy(() => {
      const grads = tf.grads((...x: tf.Tensor[]) => tf.sum(f(...x)))(inputs);
      grads.forEach((g) => g.dataSync());
    });
}

function stockAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor {
  const heads = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [25, 65, 3, 64]), [0, 2, 1, 3]) as tf.Tensor4D;
  const w = tf.softmax(tf.div(tf.matMul(heads(q), heads(k), false, true), 8));
  return tf.reshape(tf.transpose(tf.matMul(w, heads(v)), [0, 2, 1, 3]), [M, D]);
}

function stockLayerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, 1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
}

function cases(): Case[] {
  const x = tf.randomNormal([M, D]);
  const w = tf.randomNormal([D, 768]);
  const bias = tf.randomNormal([768]);
  const h = tf.randomNormal([M, 768]);
  const qkv = [tf.randomNormal([M, D]), tf.randomNormal([M, D]), tf.randomNormal([M, D])];
  const seq = tf.randomNormal([25, 65, D]);
  const positions = tf.tensor2d(
    Array.from({ length: 25 * 16 }, (_, i) => (i * 7) % 65),
    [25, 16],
    'int32',
  );
  const ln = [tf.ones([D]), tf.zeros([D])];
  return [
    {
      op: 'matMul2d [1625,192]·[192,768], grads of both',
      flops: 3 * 2 * M * D * 768,
      stock: gradStep((a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), [x, w]),
      fast: gradStep((a, b) => matMul2d(a as tf.Tensor2D, b as tf.Tensor2D), [x, w]),
    },
    {
      op: 'matMul2d, grad of x only (frozen weight)',
      flops: 2 * 2 * M * D * 768,
      stock: gradStep((a) => tf.matMul(a as tf.Tensor2D, w as tf.Tensor2D), [x]),
      fast: gradStep((a) => matMul2d(a as tf.Tensor2D, w as tf.Tensor2D), [x]),
    },
    {
      op: 'linear with bias, grad of x only',
      flops: 2 * 2 * M * D * 768,
      stock: gradStep((a) => tf.add(tf.matMul(a as tf.Tensor2D, w as tf.Tensor2D), bias), [x]),
      fast: gradStep((a) => linear(a as tf.Tensor2D, w as tf.Tensor2D, bias as tf.Tensor1D), [x]),
    },
    {
      op: 'attention B=25 T=65 H=3 d=64',
      flops: 3 * 2 * 2 * 25 * 3 * 65 * 65 * 64,
      stock: gradStep(stockAttention, qkv),
      fast: gradStep(
        (q, k, v) => attention(q as tf.Tensor2D, k as tf.Tensor2D, v as tf.Tensor2D, { batch: 25, tokens: 65, heads: 3 }).output,
        qkv,
      ),
    },
    {
      op: 'layerNorm [1625,192]',
      flops: 0,
      stock: gradStep(stockLayerNorm, [x, ...ln]),
      fast: gradStep((a, g, b) => layerNorm(a as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5), [x, ...ln]),
    },
    {
      op: 'quickGelu [1625,768]',
      flops: 0,
      stock: gradStep((a) => tf.mul(a, tf.sigmoid(tf.mul(a, 1.702))), [h]),
      fast: gradStep((a) => quickGelu(a), [h]),
    },
    {
      op: 'selectTokens [25,65,192] → 16 tokens',
      flops: 0,
      stock: gradStep((s) => tf.matMul(tf.oneHot(positions as tf.Tensor2D, 65).toFloat() as tf.Tensor3D, s as tf.Tensor3D), [seq]),
      fast: gradStep((s) => selectTokens(s as tf.Tensor3D, positions as tf.Tensor2D), [seq]),
    },
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const info = await initWasmBackend();
  const rows = cases().map((c) => {
    c.stock();
    c.fast();
    const stock: number[] = [];
    const fast: number[] = [];
    for (let i = 0; i < 7; i++) {
      for (const [f, out] of [
        [c.stock, stock],
        [c.fast, fast],
      ] as const) {
        const t0 = performance.now();
        f();
        out.push(performance.now() - t0);
      }
    }
    const row = { op: c.op, stockMs: median(stock), fastMs: median(fast), flops: c.flops };
    console.log(`${row.op}: stock ${row.stockMs.toFixed(1)} ms, fast ${row.fastMs.toFixed(1)} ms`);
    return row;
  });
  const gf = (flops: number, ms: number) => (flops ? (flops / ms / 1e6).toFixed(1) : '–');
  const md = [
    `# Fast ops vs stock tfjs (forward+backward), wasm, ${info.threads} thread(s), ${new Date().toISOString()}`,
    '',
    '| op | stock ms | fast ms | speed-up | stock GFLOP/s | fast GFLOP/s |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.op} | ${r.stockMs.toFixed(1)} | ${r.fastMs.toFixed(1)} | ${(r.stockMs / r.fastMs).toFixed(2)}× | ${gf(r.flops, r.stockMs)} | ${gf(r.flops, r.fastMs)} |`,
    ),
    '',
  ].join('\n');
  const dir = path.join(__dirname, 'results');
  writeAtomic(path.join(dir, 'engine-ops.json'), `${JSON.stringify({ date: new Date().toISOString(), wasm: info, rows }, null, 2)}\n`);
  writeAtomic(path.join(dir, 'engine-ops.md'), md);
  console.log(md);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
