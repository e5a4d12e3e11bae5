import * as fs from 'fs';
import * as path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { makeHandlers } from '../../src/cli/handlers';
import { inProcessRunner, workerThreadsRunner, type JobRunner } from '../../src/parallel';
import { queueRunner } from '../../src/queue';
import { invertZooEntries } from '../../src/reproduce/invert-zoo';
import { disposeSurrogateSets } from '../../src/surrogate';
import { INVERT_ZOO_CONFIG } from '../reproduce/micro-config';
import { useSyntheticZoo } from '../zoo/fixtures';
import { useRedis } from './redis-server';
import { startWorker, type WorkerProcess } from './worker-processes';

const made = useSyntheticZoo('invert-zoo-queue-');
const redis = useRedis();
let worker: WorkerProcess | undefined;

afterAll(async () => {
  await worker?.stop('SIGKILL');
});

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .sort()) {
    for (const name of fs.readdirSync(path.join(dir, id)).sort()) {
      const text = fs.readFileSync(path.join(dir, id, name));
      out[`${id}/${name}`] =
        name === 'surrogate.json' ? JSON.stringify({ ...JSON.parse(text.toString()), iterationsPerSecond: 0 }) : text.toString('base64');
    }
  }
  return out;
}

describe("the reproduction's inversion on each job runner", () => {
  const local = () => path.join(made.tmp, 'local');
  const invert = async (out: string, runner: JobRunner) => {
    const sets = await invertZooEntries(made.backbone, made.zoo.directory!, made.zoo.entries, INVERT_ZOO_CONFIG, { 1: 0.5 }, out, {
      runner,
    });
    expect(sets.map((s) => s.record.classNames)).toEqual(made.zoo.entries.map((e) => e.classIds));
    disposeSurrogateSets(sets);
  };
  beforeAll(() => invert(local(), inProcessRunner({ backend: 'cpu' })));

  it('writes the surrogate sets of the in-process run, byte for byte, through worker threads (the backbone file in a temporary directory)', async () => {
    const threads = path.join(made.tmp, 'threads');
    await invert(threads, workerThreadsRunner({ workers: 2, backend: 'cpu' }));
    expect(files(threads)).toEqual(files(local()));
    expect(fs.existsSync(path.join(threads, '.backbone'))).toBe(false);
  });

  it('writes the surrogate sets of the in-process run, byte for byte, through a worker process on the queues of a Redis', async () => {
    worker = await startWorker(redis.url, { lockMs: 15_000, stalledMs: 2_000 });
    const queued = path.join(made.tmp, 'queued');
    await invert(queued, queueRunner(redis.url));
    expect(files(queued)).toEqual(files(local()));
    expect(fs.existsSync(path.join(queued, '.backbone', 'model.safetensors'))).toBe(true); // the random backbone, where the workers read it
    expect([...worker.starts().keys()].sort()).toEqual(made.zoo.entries.map((e) => e.id).sort());
  });
});

describe('the command line', () => {
  it('gives the pipeline ports a queue runner for --redis of zoo, invert and reproduce, and their own runner otherwise', async () => {
    const seen: { backend?: string; runner?: string }[] = [];
    const handlers = makeHandlers((options) => {
      seen.push({ ...options, runner: options.runner?.description });
      throw new Error('stop here');
    });
    const io = { stdout: { write: () => true }, stderr: { write: () => true }, handlers } as never;
    const config = path.join(__dirname, '..', '..', 'configs', 'tiny.json');
    await main(['invert', '--config', config, '--zoo', 'z', '--out', 'o', '--redis', 'redis://h:1'], io);
    await main(['reproduce', '--redis', 'redis://h:2'], io);
    await main(['invert', '--config', config, '--zoo', 'z', '--out', 'o'], io);
    await main(['zoo', '--config', config, '--out', 'o', '--redis', 'redis://h:3'], io);
    const queues = (url: string) => ({ backend: undefined, runner: `worker processes through the queues of ${url}` });
    expect(seen).toEqual([queues('redis://h:1'), queues('redis://h:2'), { backend: undefined }, queues('redis://h:3')]);
  });

  it('requires --redis for a worker and says so', async () => {
    let err = '';
    const code = await main(['worker'], {
      stdout: { write: () => true },
      stderr: {
        write: (t: string) => {
          err += t;
          return true;
        },
      },
    } as never);
    expect(code).toBe(1);
    expect(err).toMatch(/worker: --redis is required/);
  });
});
