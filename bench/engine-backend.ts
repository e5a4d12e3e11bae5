/**
 * One backend's part of the engine benchmark, in its own process so that its peak memory is its
 * own (bench/engine.ts runs one per backend). Each measurement alternates blocks of tfjs steps and
 * PyTorch steps, so load on the shared CPU hits both alike.
 *   node --import tsx bench/engine-backend.ts --backend wasm --models tiny,vit-b16 --reps 3 --out FILE
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { commandLine } from '../scripts/command-line';
import { LoRA } from '../src/adapters';
import { selectBackend, type BackendInfo, type BackendName } from '../src/backend';
import { forwardFlopsPerImage } from '../src/backend/measured-speeds';
import { CLIP_VIT_B16, TINY_VIT, VisionTransformer, type ViTConfig } from '../src/model';
import { type EngineModel, matMulStep, type Mode, MODES, runSmallOps, runStep, type TimedMode } from './engine-timing';
import { TorchClient, type TorchInfo } from './engine-torch-client';

const RANK = 4;
const SMALL_OPS = 400;
const MATMUL_SIZE = 1024;

/** The measured sizes: the shipped tiny ViT at two batches, and the paper's backbone at batch 8. */
const PLANS: Record<string, { config: ViTConfig; batches: number[]; modes: Mode[]; rounds: number }> = {
  tiny: { config: TINY_VIT, batches: [25, 100], modes: MODES, rounds: 3 },
  'vit-b16': { config: CLIP_VIT_B16, batches: [8], modes: ['forward', 'fwdbwd_lora'], rounds: 2 },
};

export interface StepRow {
  model: string;
  mode: Mode;
  batch: number;
  tfjsMs: number;
  torchMs: number;
  flops: number;
  tfjsSamples: number[];
  torchSamples: number[];
}

export interface BackendPart {
  backend: BackendInfo;
  torch: TorchInfo;
  rows: StepRow[];
  /** Models that could not run on this backend, and why (e.g. the wasm heap). */
  failures: { model: string; reason: string }[];
  overhead: { smallOpUs: number; torchSmallOpUs: number; matmulGflops: number; torchMatmulGflops: number };
  peakRssMb: number;
  torchPeakRssMb: number;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Medians of tfjs and PyTorch times of one step, in `rounds` alternating blocks of `reps`. */
async function compare(step: () => void, torch: TorchClient, mode: TimedMode, size: number, rounds: number, reps: number) {
  const tfjsSamples: number[] = [];
  const torchSamples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    step(); // warm-up
    for (let i = 0; i < reps; i++) {
      const start = performance.now();
      step();
      tfjsSamples.push(performance.now() - start);
    }
    torchSamples.push(...(await torch.time(mode, size, reps, 1)));
  }
  return { tfjsMs: median(tfjsSamples), torchMs: median(torchSamples), tfjsSamples, torchSamples };
}

async function measureModel(name: string, threads: number, reps: number, part: BackendPart): Promise<TorchClient> {
  const plan = PLANS[name];
  const torch = await TorchClient.start(threads, name);
  const vit = VisionTransformer.random(plan.config, 1);
  const lora = LoRA.create(plan.config, { rank: RANK });
  const model: EngineModel = {
    name,
    forward: (images) => vit.forward(images, { adapter: lora }).features,
    trainableVariables: () => lora.trainableVariables(),
  };
  try {
    for (const batch of plan.batches) {
      const { imageSize, channels, projectionDim } = plan.config;
      const images = tf.randomNormal([batch, imageSize, imageSize, channels], 0, 1, 'float32', 3) as tf.Tensor4D;
      const cotangent = tf.randomNormal([batch, projectionDim], 0, 1, 'float32', 4) as tf.Tensor2D;
      for (const mode of plan.modes) {
        const timed = await compare(() => runStep(model, mode, images, cotangent, batch), torch, mode, batch, plan.rounds, reps);
        const flops = (mode === 'forward' ? 1 : 2) * batch * forwardFlopsPerImage(plan.config, RANK);
        part.rows.push({ model: name, mode, batch, flops, ...timed });
        console.error(
          `${part.backend.name} ${name} ${mode} b${batch}: ${timed.tfjsMs.toFixed(0)} ms, PyTorch ${timed.torchMs.toFixed(0)} ms`,
        );
      }
      tf.dispose([images, cotangent]);
    }
  } catch (error) {
    part.failures.push({ model: name, reason: error instanceof Error ? error.message : String(error) });
  } finally {
    vit.dispose();
    lora.dispose();
  }
  return torch;
}

async function main(): Promise<void> {
  const { values } = commandLine({ backend: undefined, models: 'tiny,vit-b16', reps: '3', out: undefined });
  if (!values.backend || !values.out) throw new Error('engine-backend needs --backend NAME and --out FILE');
  const backend = await selectBackend(values.backend as BackendName);
  const threads = backend.threads ?? 2;
  const reps = Number(values.reps);
  const part: BackendPart = { backend, torch: undefined!, rows: [], failures: [], overhead: undefined!, peakRssMb: 0, torchPeakRssMb: 0 };
  let torch: TorchClient | undefined;
  for (const name of values.models.split(',')) {
    torch?.close();
    torch = await measureModel(name, threads, reps, part);
    part.torch = torch.info;
    part.torchPeakRssMb = Math.max(part.torchPeakRssMb, await torch.peakRssMb());
  }
  if (!torch) throw new Error('engine-backend: --models named no model');
  const small = await compare(() => runSmallOps(SMALL_OPS), torch, 'small_ops', SMALL_OPS, 3, reps);
  const a = tf.randomNormal([MATMUL_SIZE, MATMUL_SIZE]) as tf.Tensor2D;
  const b = tf.randomNormal([MATMUL_SIZE, MATMUL_SIZE]) as tf.Tensor2D;
  const product = await compare(() => matMulStep(a, b), torch, 'matmul', MATMUL_SIZE, 3, reps);
  tf.dispose([a, b]);
  const gflops = (ms: number) => (2 * MATMUL_SIZE ** 3) / ms / 1e6;
  part.overhead = {
    smallOpUs: (1000 * small.tfjsMs) / SMALL_OPS,
    torchSmallOpUs: (1000 * small.torchMs) / SMALL_OPS,
    matmulGflops: gflops(product.tfjsMs),
    torchMatmulGflops: gflops(product.torchMs),
  };
  part.torchPeakRssMb = Math.max(part.torchPeakRssMb, await torch.peakRssMb());
  torch.close();
  part.peakRssMb = process.resourceUsage().maxRSS / 1024;
  fs.writeFileSync(values.out, JSON.stringify(part));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
