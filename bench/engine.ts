/**
 * Engine benchmark: the tiny ViT with LoRA in tfjs (wasm) and in PyTorch CPU, in one run.
 * Writes bench/results/engine.json and engine.md; the last printed line is
 * `engine_ratio_fwdbwd_b25=<x>`. Options: --batches 25,100  --reps 3 (per round; 3 rounds)  --micro 100.
 */
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '../src/backend/wasm';
import { LoRA } from '../src/adapters';
import { TINY_VIT, VisionTransformer } from '../src/model';
import { forwardFlopsPerImage, markdown, Report, stepFlops, withDerived, writeAtomic } from './engine-report';
import { EngineModel, Mode, MODES, runStep } from './engine-timing';
import { TorchClient } from './engine-torch-client';
import { commandLine } from '../scripts/command-line';

const RANK = 4;
const ROUNDS = 3;


/** The library's model: src/model's VisionTransformer with src/adapters' LoRA (rank 4 on q, v). */
function libraryModel(): EngineModel {
  const vit = VisionTransformer.random(TINY_VIT, 1);
  const lora = LoRA.create(TINY_VIT, { rank: RANK });
  return {
    name: 'src/model VisionTransformer + LoRA',
    forward: (images) => vit.forward(images, { adapter: lora }).features,
    trainableVariables: () => lora.trainableVariables(),
  };
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const option = commandLine({ batches: '25,100', reps: '3', micro: '100' }).values;
  const batches = option.batches.split(',').map(Number);
  const reps = Number(option.reps);
  const micro = Number(option.micro);
  const loadAtStart = os.loadavg();
  const info = await initWasmBackend();
  const model = libraryModel();
  const perImage = forwardFlopsPerImage(TINY_VIT, RANK);
  const torch = await TorchClient.start(info.threads);
  const rows: Report['rows'] = [];
  try {
    for (const batch of batches) {
      const images = tf.randomNormal([batch, TINY_VIT.imageSize, TINY_VIT.imageSize, TINY_VIT.channels], 0, 1, 'float32', 3) as tf.Tensor4D;
      const cotangent = tf.randomNormal([batch, TINY_VIT.projectionDim], 0, 1, 'float32', 4) as tf.Tensor2D;
      for (const mode of MODES) {
        const microBatch = mode === 'forward' ? batch : Math.min(batch, micro);
        const step = () => runStep(model, mode, images, cotangent, microBatch);
        const tfjs: number[] = [];
        const pytorch: number[] = [];
        for (let round = 0; round < ROUNDS; round++) { // alternating blocks: load on the shared CPU hits both alike
          step(); // warm-up
          for (let i = 0; i < reps; i++) {
            const start = performance.now();
            step();
            tfjs.push(performance.now() - start);
          }
          pytorch.push(...(await torch.time(mode, batch, reps, 1)));
        }
        const row = withDerived({ model: model.name, mode, batch, microBatch, tfjsMs: median(tfjs), torchMs: median(pytorch), flops: stepFlops(mode, batch, perImage), tfjsSamples: tfjs, torchSamples: pytorch });
        rows.push(row);
        console.log(`${model.name} ${mode} b${batch}: tfjs ${row.tfjsMs.toFixed(0)} ms, PyTorch ${row.torchMs.toFixed(0)} ms, ` +
          `ratio ${row.ratio.toFixed(2)} (live tensors ${tf.memory().numTensors})`);
      }
      tf.dispose([images, cotangent]);
    }
  } finally {
    torch.close();
  }
  const headline = rows.find((r) => r.mode === ('fwdbwd_lora' as Mode) && r.batch === 25);
  const report: Report = {
    date: new Date().toISOString(),
    cpu: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'} (shared)`,
    load: { start: loadAtStart, end: os.loadavg() },
    tfjs: { version: tf.version.tfjs, backend: tf.getBackend(), simd: info.simd, threads: info.threads, compiledKernels: info.fusedKernels, ...(info.fallbackReason ? { fallbackReason: info.fallbackReason } : {}) },
    torch: { version: torch.info.torch, threads: torch.info.threads, implementation: torch.info.implementation },
    flopsNote: `GFLOP/s are effective: ${(perImage / 1e6).toFixed(1)} MFLOP per image forward (matrix products only), ` +
      'forward+backward counted as 2× forward (one data-gradient pass; frozen weights need no weight gradient). ' +
      'Both sides are credited with the full model\'s products; the tfjs model runs its last block on the [CLS] rows only ' +
      '(the output reads nothing else), PyTorch\'s CLIPVisionModel runs it on every token.',
    rows,
    engineRatioFwdbwdB25: headline ? headline.ratio : NaN,
  };
  const dir = path.join(__dirname, 'results');
  writeAtomic(path.join(dir, 'engine.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = markdown(report);
  writeAtomic(path.join(dir, 'engine.md'), md);
  console.log(md);
  console.log(`engine_ratio_fwdbwd_b25=${report.engineRatioFwdbwdB25.toFixed(3)}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
