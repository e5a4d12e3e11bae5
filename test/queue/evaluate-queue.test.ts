import * as fs from 'fs';
import * as path from 'path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { makeHandlers } from '../../src/cli/handlers';
import { episodeSource, loadDatasetSpec, sampleEpisodes } from '../../src/data';
import { normalizeImages } from '../../src/model';
import type { PipelinePorts } from '../../src/reproduce/ports';
import { createPorts } from '../../src/reproduce/wiring';
import { EMOJI_SPEC, EMOJI_ZOO, parallelRunConfig } from '../parallel/fixtures';
import { useTestZoo } from '../zoo/fixtures';
import { useRedis } from './redis-server';
import { startWorker, type WorkerProcess } from './worker-processes';

const made = useTestZoo('lora-evaluate-queue-', EMOJI_ZOO); // the configuration's backbone and a zoo of it
const workers: WorkerProcess[] = [];
const redis = useRedis(workers);

beforeAll(() => {
  // a small configuration: the fixtures' random backbone, 2 tuning steps, episodes of the 4-emoji cache
  fs.writeFileSync(path.join(made.tmp, 'config.json'), JSON.stringify(parallelRunConfig('evaluate-queue')));
});

/** The real ports, with the novel episodes drawn from the small emoji cache of the fixtures. */
function smallPorts(options: Parameters<typeof createPorts>[0]): PipelinePorts {
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

async function evaluate(
  out: string,
  extra: string[],
): Promise<{ results: { method: string; accuracies: number[]; mean: number; ci95: number; n: number }[] }> {
  let err = '';
  const io = {
    stdout: { write: () => true },
    stderr: {
      write: (t: string) => {
        err += t;
        return true;
      },
    },
    handlers: makeHandlers(smallPorts),
  } as never;
  const methods = 'nn,uniform-nn,lora-recycle,linear-probe,lora-linear,learned-composition,clora,full-finetune';
  const code = await main(
    [
      'evaluate',
      '--config',
      path.join(made.tmp, 'config.json'),
      '--zoo',
      path.join(made.tmp, 'zoo'),
      '--meta',
      path.join(made.tmp, 'zoo', 'lora-0001.safetensors'),
      '--methods',
      methods,
      '--episodes',
      '6',
      '--backend',
      'cpu',
      '--out',
      out,
      ...extra,
    ],
    io,
  );
  expect(code, err).toBe(0);
  return JSON.parse(fs.readFileSync(out, 'utf8'));
}

describe('lora-recycle evaluate --redis', () => {
  it('gives the accuracies of the one-process run for every method, tuned ones included, through 2 worker processes', async () => {
    const local = await evaluate(path.join(made.tmp, 'local.json'), []);
    workers.push(...(await Promise.all([0, 1].map(() => startWorker(redis.url, { lockMs: 15_000, stalledMs: 2_000 })))));
    const queued = await evaluate(path.join(made.tmp, 'queued', 'metrics.json'), ['--redis', redis.url]);
    const withoutTime = (r: { results: object[] }) => ({
      ...r,
      results: r.results.map(({ seconds: _, ...rest }: { seconds?: number }) => rest),
    });
    expect(withoutTime(queued)).toEqual(withoutTime(local));
    expect(queued.results.map((r) => r.n)).toEqual([6, 6, 6, 6, 6, 6, 6, 6]);
    expect(fs.existsSync(path.join(made.tmp, 'queued', '.backbone', 'model.safetensors'))).toBe(true); // the random backbone, for the workers
    const started = workers.flatMap((w) => [...w.starts().keys()]);
    expect(started.filter((id) => id.startsWith('evaluate clora block'))).toHaveLength(2); // 6 tuned episodes, 5 a job
  });
});
