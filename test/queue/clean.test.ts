import * as fs from 'fs';
import * as path from 'path';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import type { EvaluateEpisodesJob } from '../../src/parallel';
import { cleanQueues, QUEUE_PREFIX, redisConnection, runJobsOnQueue, startQueueWorker, type QueueWorker } from '../../src/queue';
import { EMOJI_SPEC, useParallelFiles } from '../parallel/fixtures';
import { useRedis } from './redis-server';

const files = useParallelFiles();
const redis = useRedis();
let worker: QueueWorker | undefined;

afterAll(async () => {
  await worker?.close(true);
});

function evaluateJob(id: string, from: number, to: number, lora = files.lora): EvaluateEpisodesJob {
  return {
    kind: 'evaluate-episodes',
    id,
    backbone: files.backbone,
    lora,
    dataset: EMOJI_SPEC,
    episodes: { ...files.list, episodes: files.list.episodes.slice(from, to) },
  };
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, {
    stdout: {
      write: (t: string) => {
        out += t;
        return true;
      },
    },
    stderr: {
      write: (t: string) => {
        err += t;
        return true;
      },
    },
  } as never);
  return { code, out, err };
}

describe('queue-clean', () => {
  it('removes finished jobs (then failed ones with --failed, not younger ones with --older-than), says what it removed, and a later run recomputes them', async () => {
    worker = await startQueueWorker({ redis: redis.url, backend: 'cpu' });
    const corrupt = path.join(files.dir, 'corrupt.safetensors');
    fs.writeFileSync(corrupt, 'not a safetensors file');
    const jobs = [evaluateJob('a', 0, 2), evaluateJob('b', 2, 4), evaluateJob('bad', 4, 5, corrupt)];
    const first = await runJobsOnQueue(jobs, { redis: redis.url, version: 'test-clean', attempts: 1 });
    expect(first.results.map((r) => r?.id ?? null)).toEqual(['a', 'b', null]);

    const young = await cli(['queue-clean', '--redis', redis.url, '--older-than', '1']);
    expect(young.code, young.err).toBe(0);
    expect(young.out).toContain(
      'queue-clean: evaluate-episodes: removed 0 finished, 0 failed (left: 0 waiting, 0 running, 2 finished, 1 failed)',
    );

    const finished = await cli(['queue-clean', '--redis', redis.url]);
    expect(finished.out).toContain(
      'queue-clean: evaluate-episodes: removed 2 finished, 0 failed (left: 0 waiting, 0 running, 0 finished, 1 failed)',
    );
    expect(finished.out.split('\n').filter((l) => l.startsWith('queue-clean: '))).toHaveLength(4); // one line per job kind

    const failed = await cli(['queue-clean', '--redis', redis.url, '--failed']);
    expect(failed.out).toContain(
      'queue-clean: evaluate-episodes: removed 0 finished, 1 failed (left: 0 waiting, 0 running, 0 finished, 0 failed)',
    );

    const again = await runJobsOnQueue(jobs.slice(0, 2), { redis: redis.url, version: 'test-clean' });
    expect(again.reused).toBe(0); // the cleaned results are forgotten: computed again, the same
    expect(again.results).toEqual(first.results.slice(0, 2));
  });

  it('with --all removes waiting jobs too; refuses --all with --older-than and a bad number of hours', async () => {
    await worker?.close(true);
    worker = undefined;
    const queue = new Queue('invert-lora', { connection: redisConnection(redis.url), prefix: QUEUE_PREFIX });
    await queue.add('invert-lora', { job: null, version: 'none' }, { jobId: 'waiting-one' });
    await queue.close();
    const all = await cli(['queue-clean', '--redis', redis.url, '--all']);
    expect(all.code, all.err).toBe(0);
    expect(all.out).toContain(
      'queue-clean: invert-lora: removed 0 finished, 0 failed, 1 waiting (left: 0 waiting, 0 running, 0 finished, 0 failed)',
    );
    expect((await cleanQueues({ redis: redis.url })).every((r) => Object.values(r.left).every((n) => n === 0))).toBe(true);
    expect((await cli(['queue-clean', '--redis', redis.url, '--all', '--older-than', '2'])).err).toMatch(
      /--all removes every job whatever its age/,
    );
    expect((await cli(['queue-clean', '--redis', redis.url, '--older-than', 'soon'])).err).toMatch(
      /--older-than expects a number of hours ≥ 0, found "soon"/,
    );
    expect((await cli(['queue-clean'])).err).toMatch(/queue-clean: --redis is required/);
  });
});
