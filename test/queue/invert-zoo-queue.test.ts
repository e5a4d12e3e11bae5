import * as fs from 'fs';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { makeHandlers } from '../../src/cli/handlers';
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

describe("the reproduction's inversion with a Redis (--redis)", () => {
  it('writes the surrogate sets of the in-process run, byte for byte, through a worker process', async () => {
    worker = await startWorker(redis.url, { lockMs: 15_000, stalledMs: 2_000 });
    const local = path.join(made.tmp, 'local');
    const queued = path.join(made.tmp, 'queued');
    disposeSurrogateSets(
      await invertZooEntries(made.backbone, made.zoo.directory!, made.zoo.entries, INVERT_ZOO_CONFIG, { 1: 0.5 }, local, {
        backend: 'cpu',
      }),
    );
    const sets = await invertZooEntries(made.backbone, made.zoo.directory!, made.zoo.entries, INVERT_ZOO_CONFIG, { 1: 0.5 }, queued, {
      redis: redis.url,
    });
    expect(sets.map((s) => s.record.classNames)).toEqual(made.zoo.entries.map((e) => e.classIds));
    disposeSurrogateSets(sets);
    expect(files(queued)).toEqual(files(local));
    expect(fs.existsSync(path.join(queued, '.backbone', 'model.safetensors'))).toBe(true); // the random backbone, where the workers read it
    expect([...worker.starts().keys()].sort()).toEqual(made.zoo.entries.map((e) => e.id).sort());
  });
});

describe('the command line', () => {
  it('passes --redis of zoo, invert and reproduce to the pipeline ports, and leaves them without it otherwise', async () => {
    const seen: { backend?: string; redis?: string }[] = [];
    const handlers = makeHandlers((options) => {
      seen.push(options);
      throw new Error('stop here');
    });
    const io = { stdout: { write: () => true }, stderr: { write: () => true }, handlers } as never;
    const config = path.join(__dirname, '..', '..', 'configs', 'tiny.json');
    await main(['invert', '--config', config, '--zoo', 'z', '--out', 'o', '--redis', 'redis://h:1'], io);
    await main(['reproduce', '--redis', 'redis://h:2'], io);
    await main(['invert', '--config', config, '--zoo', 'z', '--out', 'o'], io);
    await main(['zoo', '--config', config, '--out', 'o', '--redis', 'redis://h:3'], io);
    expect(seen).toEqual([
      { backend: undefined, redis: 'redis://h:1' },
      { backend: undefined, redis: 'redis://h:2' },
      { backend: undefined },
      { backend: undefined, redis: 'redis://h:3' },
    ]);
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
