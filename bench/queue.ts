/**
 * Worker processes on BullMQ queues (src/queue) against the worker-thread pool (src/parallel), on
 * the same jobs and the same backend (cpu, so every setup computes the same numbers):
 *   throughput: E evaluate-episodes jobs (TINY_VIT, emoji-32 novel, 5-way 1-shot 15-query, one
 *     episode per job... `--per-job` episodes) and L invert-lora jobs (S steps), run by
 *     1, 2 and 4 `lora-recycle worker` processes (already started: their start-up is timed apart)
 *     and by runInWorkers with 1 and 2 threads (start-up included: the pool starts per call);
 *   overhead per job: N jobs that do almost nothing (a 1-episode evaluation on a 16-wide 2-layer
 *     ViT) on 1 worker process vs the same jobs in this process (runInThisThread):
 *     (queue seconds − in-process seconds) / N, and the same for a 1-thread pool.
 * Every queue measurement uses a fresh code version, so no result is reused. A private
 * redis-server (appendonly, fsync always, in a temporary directory) is started and stopped.
 * The machine may be shared: os.loadavg() is recorded with every measurement.
 * Writes bench/results/queue.json and queue.md.
 * Options: --episodes 16 --per-job 2 --loras 4 --steps 10 --noop 40.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { LoRA } from '../src/adapters';
import { selectBackend } from '../src/backend';
import { loadEmojiDataset, sampleEpisodes, type DatasetSpec } from '../src/data';
import { writeFileAtomic } from '../src/io/atomic-write';
import { saveHfClipVision, saveLoraFile } from '../src/io';
import { TINY_VIT, VisionTransformer, type ViTConfig } from '../src/model';
import {
  runInThisThread,
  runInWorkers,
  splitEpisodeList,
  type EvaluateEpisodesJob,
  type InvertLoraJob,
  type ParallelJob,
} from '../src/parallel';
import { runJobsOnQueue } from '../src/queue';
import { commandLine } from '../scripts/command-line';
import { startRedis } from '../test/queue/redis-server';
import { startWorker, type WorkerProcess } from '../test/queue/worker-processes';

const WAYS = 5;
const DATASET: DatasetSpec = { loader: 'emoji' };
const NOOP_VIT: ViTConfig = {
  imageSize: 32,
  patchSize: 8,
  channels: 3,
  width: 16,
  depth: 2,
  heads: 2,
  mlpWidth: 32,
  projectionDim: 8,
  layerNormEps: 1e-5,
};

interface Row {
  workload: 'evaluate' | 'invert' | 'no-op';
  setup: string;
  jobs: number;
  seconds: number; // wall time of the run (pool: with its start-up; queue: workers already running)
  jobsPerSecond: number;
  startSeconds?: number; // queue: time for the worker processes to be ready (in parallel)
  loadBefore: number[];
  loadAfter: number[];
}

function saveTeacherLora(file: string, seed: number): void {
  const fresh = LoRA.create(TINY_VIT, { seed });
  const parameters = fresh.toParameters();
  fresh.dispose();
  const factors = parameters.factors.map((f, i) => ({
    ...f,
    b: tf.randomNormal(f.b.shape, 0, 0.1, 'float32', seed + 100 + i) as tf.Tensor2D,
  }));
  const head = {
    weight: tf.randomUniform([TINY_VIT.projectionDim, WAYS], -0.3, 0.3, 'float32', seed + 7) as tf.Tensor2D,
    bias: tf.zeros([WAYS]) as tf.Tensor1D,
  };
  saveLoraFile(file, { parameters: { ...parameters, factors }, head, classIds: [], metadata: { bench: 'queue' } });
  tf.dispose([...parameters.factors.flatMap((f) => [f.a, f.b]), ...factors.map((f) => f.b), head.weight, head.bias]);
}

const load = () => os.loadavg().map((x) => Number(x.toFixed(2)));

async function timed(run: () => Promise<{ results: unknown[] }>): Promise<{ seconds: number; loadBefore: number[]; loadAfter: number[] }> {
  const loadBefore = load();
  const started = performance.now();
  const outcome = await run();
  const seconds = (performance.now() - started) / 1000;
  if (outcome.results.some((r) => r === null)) throw new Error('a job did not finish');
  return { seconds, loadBefore, loadAfter: load() };
}

async function main(): Promise<void> {
  const option = commandLine({ episodes: '16', 'per-job': '2', loras: '4', steps: '10', noop: '40' }).values;
  await selectBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-queue-'));
  const redis = await startRedis();
  const rows: Row[] = [];
  let version = 0;
  try {
    const backbone = path.join(dir, 'backbone');
    const vit = VisionTransformer.random(TINY_VIT, 1);
    saveHfClipVision(backbone, TINY_VIT, vit.weights);
    vit.dispose();
    const noopBackbone = path.join(dir, 'noop-backbone');
    const small = VisionTransformer.random(NOOP_VIT, 2);
    saveHfClipVision(noopBackbone, NOOP_VIT, small.weights);
    small.dispose();
    const loras = Array.from({ length: Number(option.loras) }, (_, i) => path.join(dir, `lora-${i}.safetensors`));
    loras.forEach((file, i) => saveTeacherLora(file, 10 * (i + 1)));
    const emoji = await loadEmojiDataset(); // the cache is built once, before any worker reads it
    const list = sampleEpisodes(emoji, 'novel', { ways: WAYS, shots: 1, queries: 15, count: Number(option.episodes), seed: 1 });
    const chunks = splitEpisodeList(list, Math.ceil(list.episodes.length / Number(option['per-job'])));
    const evaluateJobs: EvaluateEpisodesJob[] = chunks.map((episodes, i) => ({
      kind: 'evaluate-episodes',
      id: `evaluate ${i}`,
      backbone,
      dataset: DATASET,
      episodes,
    }));
    const invertJobs = (setup: string): InvertLoraJob[] =>
      loras.map((lora, i) => ({
        kind: 'invert-lora',
        id: `invert ${i}`,
        backbone,
        lora,
        output: path.join(dir, setup.replace(/\W+/g, '-'), `lora-${i}`),
        options: { ways: WAYS, shots: 1, queries: 1, steps: Number(option.steps), seed: i },
      }));
    const tiny = sampleEpisodes(emoji, 'novel', { ways: WAYS, shots: 1, queries: 1, count: Number(option.noop), seed: 2 });
    const noopJobs: EvaluateEpisodesJob[] = splitEpisodeList(tiny, tiny.episodes.length).map((episodes, i) => ({
      kind: 'evaluate-episodes',
      id: `no-op ${i}`,
      backbone: noopBackbone,
      dataset: DATASET,
      episodes,
    }));
    const workloads: [Row['workload'], (setup: string) => ParallelJob[]][] = [
      ['evaluate', () => evaluateJobs],
      ['invert', invertJobs],
      ['no-op', () => noopJobs],
    ];

    const record = (
      workload: Row['workload'],
      setup: string,
      jobs: number,
      t: Awaited<ReturnType<typeof timed>>,
      startSeconds?: number,
    ) => {
      rows.push({
        workload,
        setup,
        jobs,
        seconds: Number(t.seconds.toFixed(3)),
        jobsPerSecond: Number((jobs / t.seconds).toFixed(3)),
        startSeconds,
        loadBefore: t.loadBefore,
        loadAfter: t.loadAfter,
      });
      console.log(
        `${workload} ${setup}: ${t.seconds.toFixed(2)} s (${jobs} jobs)${startSeconds !== undefined ? `, workers ready in ${startSeconds.toFixed(2)} s` : ''}, load ${t.loadBefore[0]}→${t.loadAfter[0]}`,
      );
    };

    for (const [workload, jobsFor] of workloads) {
      const jobs = jobsFor('this process');
      await runInThisThread(jobs); // warm: the dataset cache and the code
      record(workload, 'this process', jobs.length, await timed(() => runInThisThread(jobsFor('this process'))));
      for (const threads of workload === 'no-op' ? [1] : [1, 2]) {
        const setup = `pool ${threads} thread${threads > 1 ? 's' : ''}`;
        record(workload, setup, jobs.length, await timed(() => runInWorkers(jobsFor(setup), { workers: threads, backend: 'cpu' })));
      }
      for (const count of workload === 'no-op' ? [1] : [1, 2, 4]) {
        const setup = `queue ${count} process${count > 1 ? 'es' : ''}`;
        const started = performance.now();
        const workers: WorkerProcess[] = await Promise.all(
          Array.from({ length: count }, () => startWorker(redis.url, { lockMs: 60_000, stalledMs: 30_000 })),
        );
        const startSeconds = Number(((performance.now() - started) / 1000).toFixed(2));
        try {
          version += 1;
          record(
            workload,
            setup,
            jobs.length,
            await timed(() => runJobsOnQueue(jobsFor(setup), { redis: redis.url, version: `bench-${version}` })),
            startSeconds,
          );
        } finally {
          await Promise.all(workers.map((w) => w.stop()));
        }
      }
    }
  } finally {
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const at = (workload: string, setup: string) => rows.find((r) => r.workload === workload && r.setup === setup)!;
  const perJob = (setup: string) =>
    Number((((at('no-op', setup).seconds - at('no-op', 'this process').seconds) / at('no-op', setup).jobs) * 1000).toFixed(1));
  const overheadMs = { 'queue 1 process': perJob('queue 1 process'), 'pool 1 thread': perJob('pool 1 thread') };
  const machine = {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    node: process.version,
    backend: 'cpu',
    shared: true,
    loadAtEnd: load(),
  };
  const result = { date: new Date().toISOString(), options: option, machine, rows, overheadMsPerJob: overheadMs };
  const out = path.join(__dirname, 'results');
  writeFileAtomic(path.join(out, 'queue.json'), `${JSON.stringify(result, null, 2)}\n`);
  const lines = [
    '# Queue (BullMQ worker processes) vs worker-thread pool',
    '',
    `${result.date}, ${machine.cpus} CPUs (${machine.cpu}), Node ${machine.node}, tfjs cpu backend everywhere.`,
    '**The machine was shared** with a long reproduction run (this bench ran under `nice -n 19`): the',
    'absolute times are slower than on an idle machine and the scaling beyond the free cores is not',
    'meaningful; the load average (1 min) is given before and after each row.',
    '',
    `Jobs: evaluate = ${option.episodes} episodes in jobs of ${option['per-job']} (TINY_VIT, 5-way 1-shot 15-query); invert = ${option.loras} LoRAs × ${option.steps} steps;`,
    `no-op = ${option.noop} one-episode evaluations (5-way 1-shot 1-query) on a 16-wide 2-layer ViT. Pool times include its start-up (it starts per call);`,
    'queue times do not (workers are long-lived): their start-up is the last column.',
    '',
    '| workload | setup | jobs | seconds | jobs/s | workers ready (s) | load 1 min before → after |',
    '|---|---|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.workload} | ${r.setup} | ${r.jobs} | ${r.seconds.toFixed(2)} | ${r.jobsPerSecond.toFixed(2)} | ${r.startSeconds?.toFixed(2) ?? ''} | ${r.loadBefore[0]} → ${r.loadAfter[0]} |`,
    ),
    '',
    `Overhead per job (no-op jobs, vs this process): queue with 1 worker process ${overheadMs['queue 1 process']} ms, pool with 1 thread ${overheadMs['pool 1 thread']} ms (its start-up spread over the jobs).`,
    '',
  ];
  writeFileAtomic(path.join(out, 'queue.md'), lines.join('\n'));
  console.log(lines.join('\n'));
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
