/**
 * Inversion throughput (method.md §1.3–1.4): iterations per second of invertLora on the tiny ViT
 * (random weights, a LoRA with non-zero B, a random PRIOR_CNN-shaped prior) for a batch of
 * N·(K+Q) = 5·(1+4) = 25 images, without pruning and with the last layer pruned at 25/50/75 %.
 * Writes bench/results/inversion.json and inversion.md.
 * Options: --steps 100  --ratios 0,0.25,0.5,0.75 (0 = no pruning)  --backend wasm|cpu.
 */
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { LoRA } from '../src/adapters';
import { initWasmBackend } from '../src/backend/wasm';
import { invertLora } from '../src/inversion';
import { writeFileAtomic } from '../src/io/atomic-write';
import { LinearHead, TINY_VIT, VisionTransformer } from '../src/model';
import { PRIOR_CNN, PriorCnn } from '../src/prior';
import { commandLine } from '../scripts/command-line';

async function main(): Promise<void> {
  const option = commandLine({ steps: '100', backend: 'wasm', ratios: '0,0.25,0.5,0.75' }).values;
  const steps = Number(option.steps);
  const backend = option.backend;
  if (backend === 'wasm') await initWasmBackend();
  else await tf.setBackend(backend);
  const backbone = VisionTransformer.random(TINY_VIT, 1);
  const fresh = LoRA.create(TINY_VIT, { seed: 2 });
  const parameters = fresh.toParameters();
  const factors = parameters.factors.map((f, i) => ({ ...f, b: tf.randomNormal(f.b.shape, 0, 0.1, 'float32', 100 + i) as tf.Tensor2D }));
  const adapter = LoRA.fromParameters({ ...parameters, factors });
  const head = LinearHead.create(TINY_VIT.projectionDim, 5, 3);
  const prior = PriorCnn.random({ ...PRIOR_CNN, classes: 10 }, 4);
  const last = TINY_VIT.depth - 1;
  const ratios = option.ratios.split(',').map(Number);
  const variants = ratios.map((ratio) =>
    ratio === 0 ? { name: 'no pruning', pruning: {} } : { name: `layer ${last} ρ=${ratio}`, pruning: { [last]: ratio } },
  );
  await (await invertLora(backbone, { adapter, head }, prior, { ways: 5, shots: 1, queries: 4, steps: 3 })).dispose(); // warm-up
  const rows: { variant: string; pruning: Record<number, number>; steps: number; iterationsPerSecond: number; wallSeconds: number }[] = [];
  for (const variant of variants) {
    const started = performance.now();
    const result = await invertLora(backbone, { adapter, head }, prior, {
      ways: 5,
      shots: 1,
      queries: 4,
      steps,
      pruning: variant.pruning,
      seed: 1,
    });
    const wallSeconds = (performance.now() - started) / 1000;
    rows.push({ variant: variant.name, pruning: variant.pruning, steps, iterationsPerSecond: result.iterationsPerSecond, wallSeconds });
    console.log(`${variant.name}: ${result.iterationsPerSecond.toFixed(2)} it/s (${wallSeconds.toFixed(1)} s wall)`);
    result.dispose();
  }
  const report = {
    date: new Date().toISOString(),
    backend,
    model: 'TINY_VIT (random weights) + LoRA r4 q,v + head; prior PRIOR_CNN widths (random), priorWeight 0.01',
    batch: 25,
    cpus: os.cpus().length,
    loadAverage: os.loadavg(),
    rows,
  };
  const dir = path.join(__dirname, 'results');
  writeFileAtomic(path.join(dir, 'inversion.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = [
    `# Inversion throughput (${report.date})`,
    '',
    `${report.model}; batch 25 (5-way, 1+4 per class), ${steps} steps, backend ${backend}, ${report.cpus} CPUs, load average ${report.loadAverage.map((l) => l.toFixed(1)).join(' / ')} (machine shared: numbers are lower bounds).`,
    '',
    '| variant | iterations/s | wall s |',
    '|---|---|---|',
    ...rows.map((r) => `| ${r.variant} | ${r.iterationsPerSecond.toFixed(2)} | ${r.wallSeconds.toFixed(1)} |`),
    '',
  ].join('\n');
  writeFileAtomic(path.join(dir, 'inversion.md'), md);
  tf.dispose(parameters.factors.flatMap((f) => [f.a, f.b]));
  tf.dispose(factors.map((f) => f.b));
  [backbone, adapter, head, prior, fresh].forEach((m) => m.dispose());
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
