/**
 * Measured projection of runs on N machines (issue #13): how long the full tiny profile and a
 * paper-scale profile would take with their jobs spread over N = 1, 2, 4, 8, 16, 32 machines of
 * this kind (2 cores each, one `lora-recycle worker` process each).
 *
 * Measured here, with small real runs through a private redis-server and one worker process (the
 * backend of this machine's estimate, tensorflow, when installed):
 *   - a zoo job (pretune-lora) at the full tiny profile's settings (5-way 5-shot, 60 steps);
 *   - inversion jobs (invert-lora, 5 × 16 images, the shipped prior) of two step counts, giving the
 *     fixed cost and the cost per step of a job: a 200-step job is projected from them;
 *   - evaluation blocks (evaluate-method): nn on 50 episodes and lora-linear on 5 (30 tuning steps);
 *   - the queue's overhead per job: no-op jobs on the worker vs in this process.
 * Taken from committed files: stage work and the serial parts (meta-training) from
 * reports/full-estimate.json (rates of the quick profile on this machine); the per-image cost of
 * CLIP ViT-B/16 over the tiny ViT from bench/results/engine.json.
 * Writes bench/results/queue-projection.json and .md. Options: --inversion-steps 10,30 --nn-episodes 50
 * --tuned-episodes 5 --noop 40. About 2–5 min on 2 shared cores.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadShippedBackbone, SHIPPED_BACKBONE_FILE } from '../src/backbone/shipped';
import { selectBackend, type BackendInfo } from '../src/backend';
import { loadEmojiDataset, sampleEpisodes, type DatasetSpec } from '../src/data';
import { saveHfClipVision } from '../src/io';
import { writeFileAtomic } from '../src/io/atomic-write';
import { VisionTransformer, type ViTConfig } from '../src/model';
import {
  runInThisThread,
  splitEpisodeList,
  type EvaluateEpisodesJob,
  type EvaluateMethodJob,
  type InvertLoraJob,
  type ParallelJob,
} from '../src/parallel';
import { assetPath } from '../src/paths';
import { SHIPPED_PRIOR_FILE } from '../src/prior/prior-file';
import { runJobsOnQueue } from '../src/queue';
import { zooTuningJobs } from '../src/reproduce/zoo-jobs';
import { planZoo } from '../src/zoo';
import { commandLine } from '../scripts/command-line';
import { startRedis } from '../test/queue/redis-server';
import { startWorker } from '../test/queue/worker-processes';
import { projectAll, type Measured } from './queue-projection-model';

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
const ROOT = path.join(__dirname, '..');
const load = () => Number(os.loadavg()[0].toFixed(2));

async function main(): Promise<void> {
  const option = commandLine({ 'inversion-steps': '10,30', 'nn-episodes': '50', 'tuned-episodes': '5', noop: '40' }).values;
  let backend: BackendInfo;
  try {
    backend = await selectBackend('tensorflow');
  } catch {
    backend = await selectBackend('cpu'); // no native build here: every job on the cpu backend
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-queue-projection-'));
  const redis = await startRedis();
  const loads: number[] = [load()];
  let version = 0;
  /** Wall seconds of `jobs` run through the queue by the worker (a fresh code version: nothing reused). */
  const onQueue = async (jobs: ParallelJob[]) => {
    version += 1;
    const started = performance.now();
    const outcome = await runJobsOnQueue(jobs, { redis: redis.url, version: `projection-${Date.now()}-${version}` });
    if (outcome.failures.length > 0 || outcome.results.some((r) => r === null))
      throw new Error(`a job did not finish: ${JSON.stringify(outcome.failures)}`);
    loads.push(load());
    return (performance.now() - started) / 1000;
  };
  let measured: Measured;
  try {
    const backbone = assetPath(...SHIPPED_BACKBONE_FILE);
    const vit = loadShippedBackbone();
    const emoji = await loadEmojiDataset(); // the cache is built before the worker reads it
    const worker = await startWorker(redis.url, { lockMs: 120_000, stalledMs: 60_000, backend: backend.name });
    try {
      // zoo: one pretune-lora job per LoRA at the full tiny profile's settings; two, so the inversions below have teachers
      const zooDir = path.join(dir, 'zoo');
      const plan = planZoo(vit, emoji, zooDir, {
        size: 2,
        ways: 5,
        shots: 5,
        heldOut: 5,
        rank: 4,
        steps: 60,
        learningRate: 0.001,
        seed: 2025,
      });
      vit.dispose();
      const zooJobs = zooTuningJobs(plan, { backbone, dataset: DATASET }, zooDir);
      const zooSeconds = await onQueue(zooJobs.slice(0, 1));
      await onQueue(zooJobs.slice(1));
      console.log(`zoo job: ${zooSeconds.toFixed(2)} s`);

      // inversion: jobs of two step counts → fixed cost + cost per step
      const steps = option['inversion-steps'].split(',').map(Number);
      const inversionSeconds: number[] = [];
      for (const [k, count] of steps.entries()) {
        const job: InvertLoraJob = {
          kind: 'invert-lora',
          id: `invert ${count} steps`,
          backbone,
          lora: zooJobs[k % zooJobs.length].output,
          prior: assetPath(...SHIPPED_PRIOR_FILE),
          output: path.join(dir, `inverted-${count}`),
          options: {
            ways: 5,
            shots: 1,
            queries: 15,
            steps: count,
            learningRate: 0.25,
            priorWeight: 0.01,
            pruning: {},
            pruneFrom: 0.25,
            seed: 2025,
          },
        };
        inversionSeconds.push(await onQueue([job]));
        console.log(`inversion job, ${count} steps: ${inversionSeconds[k].toFixed(2)} s`);
      }
      const perStep = (inversionSeconds[1] - inversionSeconds[0]) / (steps[1] - steps[0]);

      // evaluation blocks: a tuning-free one (nn) and a tuned one (lora-linear, 30 steps)
      const list = sampleEpisodes(emoji, 'novel', { ways: 5, shots: 1, queries: 15, count: Number(option['nn-episodes']), seed: 2025 });
      const block = (method: EvaluateMethodJob['method'], episodes: number): EvaluateMethodJob => ({
        kind: 'evaluate-method',
        id: `${method} block`,
        method,
        backbone,
        dataset: DATASET,
        episodes: { ...list, episodes: list.episodes.slice(0, episodes) },
        first: 0,
        options: {
          distance: 'euclidean',
          tuning: { steps: 30, learningRate: 0.001 },
          fullTuning: { steps: 30, learningRate: 0.0001 },
          rank: 4,
          seed: 2025,
        },
      });
      const nnEpisodes = Number(option['nn-episodes']);
      const tunedEpisodes = Number(option['tuned-episodes']);
      const nnSeconds = await onQueue([block('nn', nnEpisodes)]);
      const tunedSeconds = await onQueue([block('lora-linear', tunedEpisodes)]);
      console.log(
        `evaluation blocks: nn × ${nnEpisodes} ${nnSeconds.toFixed(2)} s, lora-linear × ${tunedEpisodes} ${tunedSeconds.toFixed(2)} s`,
      );

      // queue overhead per job: one-episode evaluations on a 16-wide 2-layer ViT, worker vs this process
      const noopBackbone = path.join(dir, 'noop-backbone');
      const small = VisionTransformer.random(NOOP_VIT, 2);
      saveHfClipVision(noopBackbone, NOOP_VIT, small.weights);
      small.dispose();
      const tiny = sampleEpisodes(emoji, 'novel', { ways: 5, shots: 1, queries: 1, count: Number(option.noop), seed: 2 });
      const noop: EvaluateEpisodesJob[] = splitEpisodeList(tiny, tiny.episodes.length).map((episodes, i) => ({
        kind: 'evaluate-episodes',
        id: `no-op ${i}`,
        backbone: noopBackbone,
        dataset: DATASET,
        episodes,
      }));
      await runInThisThread(noop); // warm
      const localStarted = performance.now();
      await runInThisThread(noop);
      const localSeconds = (performance.now() - localStarted) / 1000;
      await onQueue(noop.map((j) => ({ ...j, id: `warm ${j.id}` }))); // the worker loads the small backbone once
      const queueSeconds = await onQueue(noop);
      const overheadMs = Math.max(0, ((queueSeconds - localSeconds) / noop.length) * 1000);
      console.log(
        `overhead: ${overheadMs.toFixed(1)} ms per job (${noop.length} no-op jobs: queue ${queueSeconds.toFixed(2)} s, this process ${localSeconds.toFixed(2)} s)`,
      );

      measured = {
        backend: backend.name,
        workerStartSeconds: worker.startSeconds,
        zooJobSeconds: zooSeconds,
        inversion: { steps, seconds: inversionSeconds, perStepSeconds: perStep, fixedSeconds: inversionSeconds[0] - perStep * steps[0] },
        evaluation: {
          nn: { episodes: nnEpisodes, seconds: nnSeconds },
          tuned: { method: 'lora-linear', episodes: tunedEpisodes, tuningSteps: 30, seconds: tunedSeconds },
        },
        overheadMsPerJob: overheadMs,
        noop: { jobs: noop.length, queueSeconds, localSeconds },
      };
    } finally {
      await worker.stop();
    }
  } finally {
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const estimate = JSON.parse(fs.readFileSync(path.join(ROOT, 'reports', 'full-estimate.json'), 'utf8'));
  const engine = JSON.parse(fs.readFileSync(path.join(__dirname, 'results', 'engine.json'), 'utf8'));
  const machine = {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    node: process.version,
    backend: measured.backend,
    shared: true,
    load1min: loads,
  };
  const { json, markdown } = projectAll(measured, estimate, engine, { date: new Date().toISOString(), machine });
  const out = path.join(__dirname, 'results');
  writeFileAtomic(path.join(out, 'queue-projection.json'), `${JSON.stringify(json, null, 2)}\n`);
  writeFileAtomic(path.join(out, 'queue-projection.md'), markdown);
  console.log(markdown);
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
