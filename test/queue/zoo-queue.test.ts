import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend';
import { loadDatasetSpec, type ImageDataset } from '../../src/data';
import { readSafetensors } from '../../src/io/safetensors';
import { VisionTransformer } from '../../src/model';
import { inProcessRunner, workerThreadsRunner, type JobRunner } from '../../src/parallel';
import { queueRunner } from '../../src/queue';
import type { RunConfig } from '../../src/reproduce/config';
import { buildZooAsJobs } from '../../src/reproduce/zoo-jobs';
import { buildZoo, type ZooBuildOptions } from '../../src/zoo';
import { EMOJI_SPEC, PARALLEL_VIT } from '../parallel/fixtures';
import { useRedis } from './redis-server';
import { startWorker, type WorkerProcess } from './worker-processes';

const CONFIG = { backbone: { source: 'random', config: PARALLEL_VIT, seed: 3 } } as unknown as RunConfig;
const OPTIONS: ZooBuildOptions = { size: 3, ways: 3, shots: 1, heldOut: 1, rank: 2, steps: 3, learningRate: 0.01, seed: 4 };

let tmp: string;
let backbone: VisionTransformer;
let emoji: ImageDataset;
const workers: WorkerProcess[] = [];
const redis = useRedis(workers);

beforeAll(async () => {
  await selectBackend('cpu'); // the workers run on cpu too: identical kernels, identical numbers
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-zoo-queue-'));
  backbone = VisionTransformer.random(PARALLEL_VIT, 3);
  emoji = await loadDatasetSpec(EMOJI_SPEC);
});
afterAll(() => {
  backbone?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The record without its wall time (the only field that differs between runs). */
function untimed(record: unknown): unknown {
  const { seconds: _, ...rest } = record as Record<string, unknown>;
  return rest;
}

/**
 * Every LoRA file of a zoo directory, byte for byte: the tensor data of each file as written, and
 * its header with the tuning record's `seconds` left out; zoo.json likewise.
 */
function zooContents(dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .sort()) {
    const file = path.join(dir, name);
    if (name === 'zoo.json') {
      const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: { record: unknown }[] };
      out[name] = { ...manifest, entries: manifest.entries.map((e) => ({ ...e, record: untimed(e.record) })) };
      continue;
    }
    const bytes = fs.readFileSync(file);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString()) as { __metadata__: Record<string, string> };
    const metadata = JSON.parse(header.__metadata__.metadata) as { record: unknown };
    out[name] = {
      data: bytes.subarray(8 + headerLength).toString('base64'),
      header: { ...header, __metadata__: { ...header.__metadata__, metadata: { ...metadata, record: untimed(metadata.record) } } },
      tensors: Object.keys(readSafetensors(file).tensors).sort(),
    };
  }
  return out;
}

describe('zoo tuning as pretune-lora jobs', () => {
  const local = () => path.join(tmp, 'local');
  const starts = () => {
    const total = new Map<string, number>();
    for (const w of workers) for (const [id, n] of w.starts()) total.set(id, (total.get(id) ?? 0) + n);
    return Object.fromEntries(total);
  };
  beforeAll(async () => (await buildZoo(backbone, emoji, local(), OPTIONS)).dispose());

  it.each([
    { name: 'in this process', dir: 'here', runner: async () => inProcessRunner({ backend: 'cpu' }) },
    { name: 'worker threads', dir: 'threads', runner: async () => workerThreadsRunner({ workers: 2, backend: 'cpu' }) },
    {
      name: 'worker processes through a Redis',
      dir: 'queued',
      runner: async (): Promise<JobRunner> => {
        workers.push(...(await Promise.all([0, 1].map(() => startWorker(redis.url, { lockMs: 15_000, stalledMs: 2_000 })))));
        return queueRunner(redis.url);
      },
    },
  ])('writes the LoRA files and zoo.json of buildZoo, byte for byte ($name)', async ({ dir, runner }) => {
    const out = path.join(tmp, dir);
    const jobs = await runner();
    const zooSteps: number[] = [];
    const zoo = await buildZooAsJobs(jobs, backbone, emoji, EMOJI_SPEC, CONFIG, out, {
      ...OPTIONS,
      onEvent: (e) => {
        if (e.kind === 'step' && e.run === 'zoo') zooSteps.push(e.step);
      },
    });
    expect(zoo.entries.map((e) => e.id)).toEqual(['lora-0000', 'lora-0001', 'lora-0002']);
    zoo.dispose();
    expect(zooContents(out)).toEqual(zooContents(local()));
    expect(zooSteps).toEqual([1, 2, 3]);
    // the random backbone: where the workers read it on the queue, in a temporary directory otherwise
    expect(fs.existsSync(path.join(out, '.backbone', 'model.safetensors'))).toBe(jobs.remote);
  });

  it('a re-run on the queue reuses every job', async () => {
    const queued = path.join(tmp, 'queued');
    expect(starts()).toEqual({ 'lora-0000': 1, 'lora-0001': 1, 'lora-0002': 1 });
    const manifest = fs.readFileSync(path.join(queued, 'zoo.json'), 'utf8');
    fs.rmSync(path.join(queued, 'zoo.json')); // as if the first run had died before writing it
    (await buildZooAsJobs(queueRunner(redis.url), backbone, emoji, EMOJI_SPEC, CONFIG, queued, OPTIONS)).dispose();
    expect(fs.readFileSync(path.join(queued, 'zoo.json'), 'utf8')).toBe(manifest); // the finished jobs' own records, seconds included
    expect(starts()).toEqual({ 'lora-0000': 1, 'lora-0001': 1, 'lora-0002': 1 });
  });
});
