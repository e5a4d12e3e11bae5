import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UniformComposition } from '../../src/adapters';
import { selectBackend } from '../../src/backend';
import { loadDatasetSpec, sampleEpisodes } from '../../src/data';
import { loadLora } from '../../src/io/load-lora';
import { VisionTransformer } from '../../src/model';
import type { RunConfig } from '../../src/reproduce/config';
import { evaluationStage } from '../../src/reproduce/evaluation-stage';
import type { TuningFreeRow } from '../../src/reproduce/stages';
import { pipelineEpisodes } from '../../src/reproduce/wiring';
import { buildZoo, zooEntryFile, type Zoo } from '../../src/zoo';
import { EMOJI_SPEC, PARALLEL_VIT } from '../parallel/fixtures';
import { startRedis, type TestRedis } from './redis-server';
import { startWorker, type WorkerProcess } from './worker-processes';

let tmp: string;
let redis: TestRedis;
let backbone: VisionTransformer;
let zoo: Zoo;
const workers: WorkerProcess[] = [];

/** tiny.json with the fixtures' random backbone, rank 2, 2 tuning steps, 5-way 1-shot episodes with 3 queries. */
function smallConfig(): RunConfig {
  const tiny = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'configs', 'tiny.json'), 'utf8'));
  return {
    ...tiny, name: 'reproduce-evaluation-queue', backbone: { source: 'random', config: PARALLEL_VIT, seed: 3 },
    zoo: { ...tiny.zoo, rank: 2 },
    evaluation: { ...tiny.evaluation, ways: 5, shots: [1], queries: 3, seed: 7 },
    baselines: { ...tiny.baselines, tuningSteps: 2, fullTuningSteps: 2 },
  };
}

beforeAll(async () => {
  await selectBackend('cpu'); // the workers run on cpu too: identical kernels, identical numbers
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-reproduce-evaluation-queue-'));
  backbone = VisionTransformer.random(PARALLEL_VIT, 3); // the configuration's backbone
  const emoji = await loadDatasetSpec(EMOJI_SPEC);
  zoo = await buildZoo(backbone, emoji, path.join(tmp, 'zoo'), { size: 2, ways: 3, shots: 1, heldOut: 1, rank: 2, steps: 2, learningRate: 0.01, seed: 1 });
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  await redis?.stop();
  zoo?.dispose();
  backbone?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the reproduction\'s evaluation stage with a Redis (reproduce --redis)', () => {
  it('gives the per-episode accuracies of the one-process run for every row (ablation meta-LoRAs, tuned methods, a Table 4/5 row) through 2 worker processes', async () => {
    const config = smallConfig();
    const emoji = await loadDatasetSpec(EMOJI_SPEC);
    const source = pipelineEpisodes(emoji, EMOJI_SPEC, sampleEpisodes(emoji, 'novel', { ways: 5, shots: 1, queries: 3, count: 6, seed: 7 }));
    // two meta-LoRA files as the reproduction keeps them: LoRA Recycle's and an ablation variant's (here, the zoo's two LoRAs)
    const [recycleFile, oracleFile] = zoo.entries.map((e) => zooEntryFile(zoo.directory!, e.id));
    const recycle = loadLora(recycleFile, { config: backbone.config });
    const oracle = loadLora(oracleFile, { config: backbone.config });
    const uniform = UniformComposition.create(zoo.entries.map((e) => e.parameters));
    const rows: TuningFreeRow[] = [
      { method: 'nn', adapter: null, scorer: 'nn' },
      { method: 'uniform-nn', adapter: uniform, scorer: 'uniform-nn' },
      { method: 'lora-recycle', adapter: recycle, scorer: 'lora-recycle', meta: recycleFile },
      { method: 'oracle', adapter: oracle, scorer: 'lora-recycle', meta: oracleFile },
    ];
    const context = { backbone, zoo: zoo.entries.map((e) => e.parameters), metaLora: recycle };
    const files = { zoo: zoo.directory!, meta: recycleFile };
    const tuned = ['lora-linear', 'learned-composition'];
    const run = async (redisUrl?: string) => {
      const stage = evaluationStage(context, files, config, path.join(tmp, redisUrl ? 'queued' : 'local'), { redis: redisUrl });
      return { block: await stage.block(rows, tuned, source, 3), pruningRow: await stage.metaLora(oracle, oracleFile, source) };
    };
    const before = tf.memory().numTensors;
    const local = await run();
    workers.push(...await Promise.all([0, 1].map(() => startWorker(redis.url, { lockMs: 15_000, stalledMs: 2_000 }))));
    const queued = await run(redis.url);
    expect(tf.memory().numTensors).toBe(before);
    uniform.dispose();
    recycle.dispose();
    oracle.dispose();

    const withoutTime = ({ seconds: _, ...rest }: { seconds: number }) => rest;
    expect(queued.block.map(withoutTime)).toEqual(local.block.map(withoutTime));
    expect(withoutTime(queued.pruningRow)).toEqual(withoutTime(local.pruningRow));
    expect(queued.block.map((r) => `${r.method}:${r.n}`)).toEqual(['nn:6', 'uniform-nn:6', 'lora-recycle:6', 'oracle:6', 'lora-linear:3', 'learned-composition:3']);
    expect(queued.block[3].accuracies).not.toEqual(queued.block[2].accuracies); // each meta-LoRA row scored with its own file
    expect(queued.pruningRow).toMatchObject({ method: 'lora-recycle', n: 6, accuracies: queued.block[3].accuracies });
    expect(fs.existsSync(path.join(tmp, 'queued', '.backbone', 'model.safetensors'))).toBe(true); // the random backbone, for the workers
    const started = new Set(workers.flatMap((w) => [...w.starts().keys()]));
    expect(started).toContain('evaluate oracle block 1/1'); // the ablation row as its own jobs, with its own meta-LoRA
    expect(started).toContain('evaluate lora-linear block 1/1');
  });
});
