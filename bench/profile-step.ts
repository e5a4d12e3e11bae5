/**
 * Where a training step's time goes: runs the engine benchmark's fwdbwd_lora step (tiny ViT,
 * LoRA rank 4) under tf.profile and prints wall time per kernel name. Options: --batch 25 --reps 5.
 */
import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '../src/backend/wasm';
import { LoRA } from '../src/adapters';
import { TINY_VIT, VisionTransformer } from '../src/model';
import { runStep } from './engine-timing';
import { commandLine } from '../scripts/command-line';

async function main(): Promise<void> {
  const option = commandLine({ batch: '25', reps: '5' }).values;
  const batch = Number(option.batch);
  const reps = Number(option.reps);
  await initWasmBackend();
  const vit = VisionTransformer.random(TINY_VIT, 1);
  const lora = LoRA.create(TINY_VIT, { rank: 4 });
  const model = {
    name: 'vit',
    forward: (x: tf.Tensor4D) => vit.forward(x, { adapter: lora }).features,
    trainableVariables: () => lora.trainableVariables(),
  };
  const images = tf.randomNormal([batch, TINY_VIT.imageSize, TINY_VIT.imageSize, TINY_VIT.channels], 0, 1, 'float32', 3) as tf.Tensor4D;
  const cotangent = tf.randomNormal([batch, TINY_VIT.projectionDim], 0, 1, 'float32', 4) as tf.Tensor2D;
  const step = () => runStep(model, 'fwdbwd_lora', images, cotangent, batch);
  for (let i = 0; i < 2; i++) step();
  const start = performance.now();
  for (let i = 0; i < reps; i++) step();
  const plain = (performance.now() - start) / reps;
  const totals = new Map<string, { ms: number; calls: number }>();
  let profiled = 0;
  for (let i = 0; i < reps; i++) {
    const info = await tf.profile(() => {
      step();
    });
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const e = totals.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += ms / reps;
      e.calls += 1 / reps;
      totals.set(k.name, e);
      profiled += ms / reps;
    }
  }
  console.log(`step ${plain.toFixed(1)} ms unprofiled; kernels sum ${profiled.toFixed(1)} ms`);
  for (const [name, e] of [...totals].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`${name.padEnd(28)} ${e.ms.toFixed(1).padStart(7)} ms ${e.calls.toFixed(0).padStart(5)} calls`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
