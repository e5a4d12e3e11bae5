import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend';
import { main } from '../../src/cli/main';
import { makeHandlers } from '../../src/cli/handlers';
import { episodeSource, loadDatasetSpec, sampleEpisodes } from '../../src/data';
import { normalizeImages, VisionTransformer } from '../../src/model';
import type { PipelinePorts } from '../../src/reproduce/ports';
import { createPorts } from '../../src/reproduce/wiring';
import { buildZoo } from '../../src/zoo';
import { EMOJI_SPEC, PARALLEL_VIT } from '../parallel/fixtures';
import { startRedis, type TestRedis } from './redis-server';
import { startWorker, type WorkerProcess } from './worker-processes';

let tmp: string;
let redis: TestRedis;
const workers: WorkerProcess[] = [];

/** A small configuration: the fixtures' random backbone, 2 tuning steps, episodes of the 4-emoji cache. */
function writeConfig(file: string): void {
  const tiny = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'configs', 'tiny.json'), 'utf8'));
  const config = {
    ...tiny, name: 'evaluate-queue', backbone: { source: 'random', config: PARALLEL_VIT, seed: 3 },
    zoo: { ...tiny.zoo, rank: 2 },
    evaluation: { ...tiny.evaluation, ways: 5, shots: [1], queries: 3, seed: 7 },
    baselines: { ...tiny.baselines, tuningSteps: 2, fullTuningSteps: 2 },
  };
  fs.writeFileSync(file, JSON.stringify(config));
}

beforeAll(async () => {
  await selectBackend('cpu'); // the workers run on cpu too: identical kernels, identical numbers
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-evaluate-queue-'));
  writeConfig(path.join(tmp, 'config.json'));
  const backbone = VisionTransformer.random(PARALLEL_VIT, 3); // the configuration's backbone
  const emoji = await loadDatasetSpec(EMOJI_SPEC);
  (await buildZoo(backbone, emoji, path.join(tmp, 'zoo'), { size: 2, ways: 3, shots: 1, heldOut: 1, rank: 2, steps: 2, learningRate: 0.01, seed: 1 })).dispose();
  backbone.dispose();
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  await redis?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The real ports, with the novel episodes drawn from the small emoji cache of the fixtures. */
function smallPorts(options: { backend?: string; redis?: string }): PipelinePorts {
  const ports = createPorts(options);
  return {
    ...ports,
    async episodes(_set, shape, count, seed) {
      const emoji = await loadDatasetSpec(EMOJI_SPEC);
      const list = sampleEpisodes(emoji, 'novel', { ...shape, count, seed });
      return { ...episodeSource(emoji, list, normalizeImages), origin: { dataset: EMOJI_SPEC, list } };
    },
  };
}

async function evaluate(out: string, extra: string[]): Promise<{ results: { method: string; accuracies: number[]; mean: number; ci95: number; n: number }[] }> {
  let err = '';
  const io = { stdout: { write: () => true }, stderr: { write: (t: string) => { err += t; return true; } }, handlers: makeHandlers(smallPorts) } as never;
  const methods = 'nn,uniform-nn,lora-recycle,linear-probe,lora-linear,learned-composition,clora,full-finetune';
  const code = await main(['evaluate', '--config', path.join(tmp, 'config.json'), '--zoo', path.join(tmp, 'zoo'), '--meta', path.join(tmp, 'zoo', 'lora-0001.safetensors'),
    '--methods', methods, '--episodes', '6', '--backend', 'cpu', '--out', out, ...extra], io);
  expect(code, err).toBe(0);
  return JSON.parse(fs.readFileSync(out, 'utf8'));
}

describe('lora-recycle evaluate --redis', () => {
  it('gives the accuracies of the one-process run for every method, tuned ones included, through 2 worker processes', async () => {
    const local = await evaluate(path.join(tmp, 'local.json'), []);
    workers.push(...await Promise.all([0, 1].map(() => startWorker(redis.url, { lockMs: 15_000, stalledMs: 2_000 }))));
    const queued = await evaluate(path.join(tmp, 'queued', 'metrics.json'), ['--redis', redis.url]);
    const withoutTime = (r: { results: object[] }) => ({ ...r, results: r.results.map(({ seconds: _, ...rest }: { seconds?: number }) => rest) });
    expect(withoutTime(queued)).toEqual(withoutTime(local));
    expect(queued.results.map((r) => r.n)).toEqual([6, 6, 6, 6, 6, 6, 6, 6]);
    expect(fs.existsSync(path.join(tmp, 'queued', '.backbone', 'model.safetensors'))).toBe(true); // the random backbone, for the workers
    const started = workers.flatMap((w) => [...w.starts().keys()]);
    expect(started.filter((id) => id.startsWith('evaluate clora block'))).toHaveLength(2); // 6 tuned episodes, 5 a job
  });
});
