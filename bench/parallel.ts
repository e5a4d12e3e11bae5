/**
 * Worker-thread speed-up (src/parallel) for the two kinds of independent jobs:
 *   evaluate: prototype accuracy of E episodes (emoji-32 novel, 5-way 1-shot 15-query) with a random TINY_VIT;
 *   invert:   L LoRA inversions of S steps each (TINY_VIT, random LoRAs with heads, random PRIOR_CNN-shaped prior).
 * Each workload runs three ways, wall time including worker start-up (tfjs, backend, files):
 *   main 2T: this process, wasm with 2 XNNPACK threads, jobs one after the other;
 *   1W×1T:  runInWorkers with 1 worker, single-threaded wasm;
 *   2W×1T:  runInWorkers with 2 workers, single-threaded wasm each.
 * Rounds alternate the order of the three (to spread load changes); the table gives medians.
 * The machine is shared: os.loadavg() is recorded around every measurement, and before each
 * workload a calibration measures what 2 threads can get here at all (parallel-calibration.ts:
 * throughput of 2 vs 1 threads on a fixed pure-JS and a fixed wasm matMul loop; 2.0 when idle).
 * Writes bench/results/parallel.json and parallel.md, and caches main 2T vs 2W×1T per workload for
 * the library's choice of execution (src/parallel/execution-choice.ts, .cache/parallel-timings.json),
 * which evaluateEpisodeList and invertLoraJobs follow.
 * Options: --episodes 40  --loras 4  --steps 20  --queries 1 (inversion Q per class)  --rounds 1.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { LoRA } from '../src/adapters';
import { selectBackend, type BackendInfo } from '../src/backend';
import { WASM_THREADS_ENV } from '../src/backend/wasm';
import { episodeSource, loadEmojiDataset, sampleEpisodes } from '../src/data';
import { evaluateEpisodeSource } from '../src/evaluation';
import { writeFileAtomic } from '../src/io/atomic-write';
import { saveHfClipVision, saveLoraFile } from '../src/io';
import { normalizeImages, TINY_VIT, VisionTransformer } from '../src/model';
import type { DatasetSpec } from '../src/data';
import {
  chooseExecution,
  evaluateInParallel,
  JobResources,
  PARALLEL_MODE_ENV,
  runInWorkers,
  runJob,
  saveMeasuredTimings,
  timingsFile,
  type InvertLoraJob,
  type MeasuredTimings,
} from '../src/parallel';
import { PRIOR_CNN, PriorCnn, savePrior } from '../src/prior';
import type { RunListener } from '../src/progress/events';
import { twoThreadRatios } from './parallel-calibration';
import { commandLine } from '../scripts/command-line';

const WAYS = 5;
const DATASET: DatasetSpec = { loader: 'emoji' };

type Setup = 'main 2T' | '1W×1T' | '2W×1T';
const SETUPS: Setup[] = ['main 2T', '1W×1T', '2W×1T'];

interface Measurement {
  workload: 'evaluate' | 'invert';
  setup: Setup;
  round: number;
  seconds: number;
  stepsPerSecond: number; // episodes or inversion steps per second between the first and the last step event (start-up excluded)
  loadBefore: number[];
  loadAfter: number[];
  backends: { name: string; threads?: number }[];
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const backendsOf = (infos: BackendInfo[]) => infos.map((b) => ({ name: b.name, threads: b.threads }));

function saveTeacherLora(file: string, seed: number): void {
  const fresh = LoRA.create(TINY_VIT, { seed });
  const parameters = fresh.toParameters();
  fresh.dispose();
  const factors = parameters.factors.map((f, i) => ({
    ...f,
    b: tf.randomNormal(f.b.shape, 0, 0.1, 'float32', seed + 100 + i) as tf.Tensor2D,
  }));
  const bound = 1 / Math.sqrt(TINY_VIT.projectionDim);
  const head = {
    weight: tf.randomUniform([TINY_VIT.projectionDim, WAYS], -bound, bound, 'float32', seed + 7) as tf.Tensor2D,
    bias: tf.zeros([WAYS]) as tf.Tensor1D,
  };
  saveLoraFile(file, { parameters: { ...parameters, factors }, head, classIds: [], metadata: { bench: 'parallel' } });
  tf.dispose([...parameters.factors.flatMap((f) => [f.a, f.b]), ...factors.map((f) => f.b), head.weight, head.bias]);
}

async function main(): Promise<void> {
  const option = commandLine({ episodes: '40', loras: '4', steps: '20', queries: '1', rounds: '1' }).values;
  const episodes = Number(option.episodes);
  const loras = Number(option.loras);
  const steps = Number(option.steps);
  const queries = Number(option.queries);
  const rounds = Number(option.rounds);
  process.env[WASM_THREADS_ENV] = '2'; // the main-process baseline: wasm with 2 threads
  const mainBackend = await selectBackend('wasm');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-parallel-'));
  const backbonePath = path.join(dir, 'backbone');
  const vit = VisionTransformer.random(TINY_VIT, 1);
  saveHfClipVision(backbonePath, TINY_VIT, vit.weights);
  vit.dispose();
  const priorPath = path.join(dir, 'prior.safetensors');
  const prior = PriorCnn.random({ ...PRIOR_CNN, classes: 10 }, 4);
  savePrior(priorPath, prior);
  prior.dispose();
  const loraPaths = Array.from({ length: loras }, (_, i) => path.join(dir, `lora-${i}.safetensors`));
  loraPaths.forEach((file, i) => saveTeacherLora(file, 10 * (i + 1)));
  const emoji = await loadEmojiDataset(); // builds the cache once, before any worker reads it
  const list = sampleEpisodes(emoji, 'novel', { ways: WAYS, shots: 1, queries: 15, count: episodes, seed: 1 });
  const invertJobs = (setup: string): InvertLoraJob[] =>
    loraPaths.map((lora, i) => ({
      kind: 'invert-lora',
      id: `invert ${i}`,
      backbone: backbonePath,
      lora,
      prior: priorPath,
      output: path.join(dir, setup.replace(/\W+/g, '-'), `lora-${i}`),
      options: { ways: WAYS, shots: 1, queries, steps, seed: i },
    }));

  const accuracies = new Map<Setup, number[]>();
  const evaluate: Record<Setup, (onEvent: RunListener) => Promise<BackendInfo[]>> = {
    'main 2T': async (onEvent) => {
      const resources = new JobResources();
      const backbone = resources.backbone(backbonePath);
      const result = await evaluateEpisodeSource((x) => backbone.forward(x).features, episodeSource(emoji, list, normalizeImages), {
        onEvent,
      });
      resources.dispose();
      accuracies.set('main 2T', result.accuracies);
      return [mainBackend];
    },
    '1W×1T': async (onEvent) => {
      const result = await evaluateInParallel(backbonePath, DATASET, list, { workers: 1, backend: 'wasm', threadsPerWorker: 1, onEvent });
      accuracies.set('1W×1T', result.accuracies);
      return result.backends;
    },
    '2W×1T': async (onEvent) => {
      const result = await evaluateInParallel(backbonePath, DATASET, list, { workers: 2, backend: 'wasm', threadsPerWorker: 1, onEvent });
      accuracies.set('2W×1T', result.accuracies);
      return result.backends;
    },
  };
  const invert: Record<Setup, (onEvent: RunListener) => Promise<BackendInfo[]>> = {
    'main 2T': async (onEvent) => {
      const resources = new JobResources();
      for (const job of invertJobs('main 2T')) await runJob(job, resources, { onEvent });
      resources.dispose();
      return [mainBackend];
    },
    '1W×1T': async (onEvent) =>
      (await runInWorkers(invertJobs('1W×1T'), { workers: 1, backend: 'wasm', threadsPerWorker: 1, onEvent })).backends,
    '2W×1T': async (onEvent) =>
      (await runInWorkers(invertJobs('2W×1T'), { workers: 2, backend: 'wasm', threadsPerWorker: 1, onEvent })).backends,
  };

  const measurements: Measurement[] = [];
  const calibration: Record<string, { js: number; wasm: number }> = {};
  for (const [workload, runs] of [
    ['evaluate', evaluate],
    ['invert', invert],
  ] as const) {
    calibration[workload] = await twoThreadRatios();
    console.log(
      `${workload}: 2-thread throughput ratio now: pure JS ${calibration[workload].js.toFixed(2)}, wasm matMul ${calibration[workload].wasm.toFixed(2)}`,
    );
    for (let round = 0; round < rounds; round++) {
      for (const setup of round % 2 === 0 ? SETUPS : [...SETUPS].reverse()) {
        const loadBefore = os.loadavg();
        const started = performance.now();
        const stepTimes: number[] = [];
        const backends = backendsOf(
          await runs[setup]((event) => {
            if (event.kind === 'step') stepTimes.push(performance.now());
          }),
        );
        const seconds = (performance.now() - started) / 1000;
        const stepsPerSecond = (stepTimes.length - 1) / ((stepTimes[stepTimes.length - 1] - stepTimes[0]) / 1000);
        measurements.push({ workload, setup, round, seconds, stepsPerSecond, loadBefore, loadAfter: os.loadavg(), backends });
        console.log(
          `${workload} ${setup}: ${seconds.toFixed(1)} s, ${stepsPerSecond.toFixed(2)} steps/s after the first (load ${loadBefore[0].toFixed(1)} → ${os.loadavg()[0].toFixed(1)})`,
        );
      }
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });

  const of = (workload: string, setup: Setup) => measurements.filter((m) => m.workload === workload && m.setup === setup);
  const seconds = (workload: string, setup: Setup) => median(of(workload, setup).map((m) => m.seconds));
  const rate = (workload: string, setup: Setup) => median(of(workload, setup).map((m) => m.stepsPerSecond));
  const summary = (['evaluate', 'invert'] as const).map((workload) => ({
    workload,
    seconds: Object.fromEntries(SETUPS.map((s) => [s, seconds(workload, s)])),
    speedUpOverOneWorker: seconds(workload, '1W×1T') / seconds(workload, '2W×1T'),
    speedUpOverMainTwoThreads: seconds(workload, 'main 2T') / seconds(workload, '2W×1T'),
    afterStartUpSpeedUpOverOneWorker: rate(workload, '2W×1T') / rate(workload, '1W×1T'),
    machineTwoThreadRatio: calibration[workload],
  }));
  const loads = measurements.map((m) => m.loadBefore[0]);
  const timings: MeasuredTimings = Object.fromEntries(
    summary.map((s) => [
      s.workload,
      {
        inProcess: s.seconds['main 2T'],
        workers: s.seconds['2W×1T'],
        measuredAt: new Date().toISOString(),
        load: Math.max(...loads),
      },
    ]),
  );
  saveMeasuredTimings(timings);
  const choice = Object.fromEntries(summary.map((s) => [s.workload, chooseExecution(s.workload, timings).mode]));
  const sameAccuracies = SETUPS.every((s) => JSON.stringify(accuracies.get(s)) === JSON.stringify(accuracies.get('main 2T')));
  const report = {
    date: new Date().toISOString(),
    cpus: os.cpus().length,
    model: 'TINY_VIT (random weights); wasm backend',
    evaluate: { episodes, dataset: 'emoji-32 novel', ways: WAYS, shots: 1, queries: 15, sameAccuraciesInAllSetups: sameAccuracies },
    invert: { loras, steps, batch: WAYS * (1 + queries), prior: 'PRIOR_CNN widths (random)', pruning: 'none' },
    goal: 'speed-up of 2W×1T over 1W×1T ≥ 1.6 (issue 4)',
    summary,
    libraryChoice: choice,
    measurements,
  };
  const out = path.join(__dirname, 'results');
  writeFileAtomic(path.join(out, 'parallel.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = [
    `# Worker-thread speed-up (${report.date})`,
    '',
    `**Measured under load**: ${report.model}, ${report.cpus} CPUs shared with other jobs, 1-minute load average between ${Math.min(...loads).toFixed(1)} and ${Math.max(...loads).toFixed(1)} during the runs`,
    `(per measurement in parallel.json). Wall seconds include worker start-up; "after start-up" compares steps (episodes, inversion`,
    `iterations) per second between the first and the last step event. Medians of ${rounds} round(s), order alternating.`,
    '',
    ...summary.map(
      (s) =>
        `- **${s.workload}**: 2 workers × 1 thread vs 1 worker × 1 thread ${s.speedUpOverOneWorker.toFixed(2)}×; vs the default in-process run with 2 threads ${s.speedUpOverMainTwoThreads.toFixed(2)}× → executionFor('${s.workload}') picks ${choice[s.workload] === 'workers' ? '2 workers' : 'in-process'} on this machine`,
    ),
    `  (src/parallel/execution-choice.ts, from these timings, cached in .cache/parallel-timings.json; ${PARALLEL_MODE_ENV}=workers|in-process|evaluate=…,invert=… overrides;`,
    '  evaluateEpisodeList and invertLoraJobs run each kind the way executionFor picks)',
    '',
    `- evaluate: ${episodes} episodes of emoji-32 novel, ${WAYS}-way 1-shot 15-query; accuracies identical in all setups: ${sameAccuracies ? 'yes' : 'NO'}`,
    `- invert: ${loras} LoRAs × ${steps} steps, batch ${WAYS * (1 + queries)} images, BN prior, no pruning`,
    '',
    '| workload | main 2T s | 1W×1T s | 2W×1T s | 2W×1T vs 1W×1T | same, after start-up | 2W×1T vs main 2T | machine 2-thread ratio (JS / wasm) |',
    '|---|---|---|---|---|---|---|---|',
    ...summary.map(
      (s) =>
        `| ${s.workload} | ${s.seconds['main 2T'].toFixed(1)} | ${s.seconds['1W×1T'].toFixed(1)} | ${s.seconds['2W×1T'].toFixed(1)} | ${s.speedUpOverOneWorker.toFixed(2)}× | ${s.afterStartUpSpeedUpOverOneWorker.toFixed(2)}× | ${s.speedUpOverMainTwoThreads.toFixed(2)}× | ${s.machineTwoThreadRatio.js.toFixed(2)}× / ${s.machineTwoThreadRatio.wasm.toFixed(2)}× |`,
    ),
    '',
    `Goal: ${report.goal}. The last column is the ceiling the machine offered at the time (2.0 on two idle cores):`,
    'while other jobs keep the cores busy, two workers cannot get two cores, and the ratios say more about the load than about the pool.',
    '',
  ].join('\n');
  writeFileAtomic(path.join(out, 'parallel.md'), md);
  console.log(
    summary
      .map(
        (s) =>
          `${s.workload}_speedup_2w_vs_1w=${s.speedUpOverOneWorker.toFixed(2)} ${s.workload}_speedup_2w_vs_main2t=${s.speedUpOverMainTwoThreads.toFixed(2)} ${s.workload}_choice=${choice[s.workload]}`,
      )
      .join(' '),
  );
  console.log(`timings cached in ${timingsFile()}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
