import * as fs from 'fs';
import * as path from 'path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  evaluateEpisodeList,
  inProcessRunner,
  runInThisThread,
  workerThreadsRunner,
  type JobRunner,
  type EvaluateEpisodesJob,
  type InvertLoraJob,
  type InvertLoraSummary,
  type ParallelJob,
} from '../../src/parallel';
import type { RunEvent } from '../../src/progress/events';
import { evaluateEpisodesOnQueue, failuresError, queueRunner, runJobsOnQueue } from '../../src/queue';
import { EMOJI_SPEC, useParallelFiles } from '../parallel/fixtures';
import { useRedis } from './redis-server';
import { startWorker, type WorkerProcess } from './worker-processes';

const files = useParallelFiles(); // the cpu backend: the workers run on cpu too, identical kernels, identical numbers
const workers: WorkerProcess[] = [];
const redis = useRedis(workers);

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL'))); // a failed test's workers take no job of the next
});

/**
 * Worker processes with locks long enough that a worker starved of CPU (this machine is shared)
 * is not taken for dead, unless the test asks for short ones.
 */
async function startWorkers(
  count: number,
  locks: { lockMs?: number; stalledMs?: number } = { lockMs: 15_000, stalledMs: 2_000 },
): Promise<WorkerProcess[]> {
  const started = await Promise.all(Array.from({ length: count }, () => startWorker(redis.url, locks)));
  workers.push(...started);
  return started;
}

async function stopWorkers(list: WorkerProcess[]): Promise<void> {
  await Promise.all(list.map((w) => w.stop()));
}

function invertJob(id: string, lora: string, output: string, steps: number): InvertLoraJob {
  return {
    kind: 'invert-lora',
    id,
    backbone: files.backbone,
    lora,
    prior: files.prior,
    output: path.join(files.dir, output),
    options: { ways: 3, shots: 1, queries: 1, steps, pruning: { 0: 0.5 }, pruneFrom: 0, seed: 5 },
  };
}

function evaluateJob(id: string, from: number, to: number): EvaluateEpisodesJob {
  return {
    kind: 'evaluate-episodes',
    id,
    backbone: files.backbone,
    lora: files.lora,
    dataset: EMOJI_SPEC,
    episodes: { ...files.list, episodes: files.list.episodes.slice(from, to) },
  };
}

/** Every file of a surrogate set directory, byte for byte; surrogate.json without its timing. */
function setContents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const bytes = fs.readFileSync(path.join(dir, name));
    if (name === 'surrogate.json') {
      const { iterationsPerSecond: _, ...rest } = JSON.parse(bytes.toString()) as Record<string, unknown>;
      out[name] = JSON.stringify(rest);
    } else {
      out[name] = bytes.toString('base64');
    }
  }
  return out;
}

function withoutTiming(result: unknown): unknown {
  if (!result || typeof result !== 'object' || (result as { kind?: string }).kind !== 'invert-lora') return result;
  const { iterationsPerSecond: _, output: __, ...rest } = result as InvertLoraSummary;
  return rest;
}

/** The same jobs in this process, outputs under `local-<output>`: the reference. */
async function referenceRun(jobs: readonly ParallelJob[]) {
  const local = jobs.map((job) =>
    job.kind === 'invert-lora' ? { ...job, output: path.join(files.dir, `local-${path.basename(job.output)}`) } : job,
  );
  return { jobs: local, outcome: await runInThisThread(local) };
}

function totalStarts(list: WorkerProcess[]): Map<string, number> {
  const total = new Map<string, number>();
  for (const w of list) for (const [id, n] of w.starts()) total.set(id, (total.get(id) ?? 0) + n);
  return total;
}

describe.each([
  { name: 'worker threads', tag: 'threads', make: async (): Promise<JobRunner> => workerThreadsRunner({ workers: 2, backend: 'cpu' }) },
  {
    name: 'worker processes through a Redis',
    tag: 'queue',
    make: async (): Promise<JobRunner> => {
      await startWorkers(2);
      return queueRunner(redis.url, { version: 'test-runners' });
    },
  },
])('the JobRunner of $name', ({ tag, make }) => {
  it('gives the results and surrogate sets of the in-process runner, bit for bit, in job order', async () => {
    const batch = (prefix: string): ParallelJob[] => [
      invertJob('inv a', files.lora, `${prefix}-a`, 3),
      evaluateJob('eval 1', 0, 6),
      invertJob('inv b', files.loraB, `${prefix}-b`, 3),
      evaluateJob('eval 2', 6, 12),
    ];
    const here = await inProcessRunner().run(batch(`here-${tag}`));
    const runner = await make();
    const steps: string[] = [];
    const there = await runner.run(batch(tag), {
      onEvent: (e) => {
        if (e.kind === 'step') steps.push(e.run);
      },
    });
    expect(there.stopped).toBe(false);
    expect(there.results.map(withoutTiming)).toEqual(here.results.map(withoutTiming));
    expect(there.results.map((r) => r?.id)).toEqual(['inv a', 'eval 1', 'inv b', 'eval 2']);
    for (const name of ['a', 'b'])
      expect(setContents(path.join(files.dir, `${tag}-${name}`))).toEqual(setContents(path.join(files.dir, `here-${tag}-${name}`)));
    expect(steps.filter((run) => run === 'eval 2')).toHaveLength(6);
  });
});

describe('runJobsOnQueue with worker processes', () => {
  it('gives the one-process results bit for bit, and a second run reuses them without running a job', async () => {
    const jobs: ParallelJob[] = [
      invertJob('inv a', files.lora, 'a-out', 4),
      evaluateJob('eval 1', 0, 6),
      invertJob('inv b', files.loraB, 'b-out', 4),
      evaluateJob('eval 2', 6, 12),
    ];
    const reference = await referenceRun(jobs);
    const pool = await startWorkers(2);
    const events: RunEvent[] = [];
    const outcome = await runJobsOnQueue(jobs, { redis: redis.url, version: 'test-identical', onEvent: (e) => events.push(e) });
    expect(outcome.failures).toEqual([]);
    expect(outcome.stopped).toBe(false);
    expect(outcome.reused).toBe(0);
    expect(outcome.results.map(withoutTiming)).toEqual(reference.outcome.results.map(withoutTiming));
    expect(outcome.results.map((r) => r?.id)).toEqual(jobs.map((j) => j.id));
    for (const name of ['a-out', 'b-out'])
      expect(setContents(path.join(files.dir, name))).toEqual(setContents(path.join(files.dir, `local-${name}`)));
    expect(events.filter((e) => e.kind === 'step' && e.run === 'eval 1')).toHaveLength(6);
    expect(outcome.backends.every((b) => b.name === 'cpu')).toBe(true);

    const again = await runJobsOnQueue(jobs, { redis: redis.url, version: 'test-identical' });
    expect(again.reused).toBe(4);
    expect(again.results).toEqual(outcome.results);
    expect([...totalStarts(pool).values()]).toEqual([1, 1, 1, 1]);
    await stopWorkers(pool);
  });

  it('evaluates an episode list on the queue with the accuracies and step events of evaluateEpisodeList', async () => {
    await startWorkers(2);
    const local = await evaluateEpisodeList(files.backbone, EMOJI_SPEC, files.list, { lora: files.lora, execution: 'in-process' });
    const steps: number[] = [];
    const queued = await evaluateEpisodesOnQueue(files.backbone, EMOJI_SPEC, files.list, {
      redis: redis.url,
      version: 'test-evaluate',
      lora: files.lora,
      chunks: 4,
      onEvent: (e) => {
        if (e.kind === 'step' && e.run === 'evaluate') steps.push(e.step);
      },
    });
    expect(queued.accuracies).toEqual(local.accuracies);
    expect(queued.mean).toBe(local.mean);
    expect(steps).toEqual(local.accuracies.map((_, i) => i + 1));
  });

  it('takes over the job of a worker killed with SIGKILL on another worker, with the same result', async () => {
    const job = invertJob('killed', files.lora, 'killed-out', 30);
    const reference = await referenceRun([job]);
    // the killed worker's short lock lapses within seconds and the other worker, looking for stalled
    // jobs every second, takes the job over; the other's own lock is long, so a CPU starved by
    // other work does not stall the job a second time (BullMQ fails a job stalled twice)
    const [first] = await startWorkers(1, { lockMs: 3000, stalledMs: 1000 });
    let second: Promise<WorkerProcess[]> | null = null;
    const outcome = await runJobsOnQueue([job], {
      redis: redis.url,
      version: 'test-kill',
      onEvent: (e) => {
        if (e.kind === 'step' && e.step === 5 && second === null) {
          first.child.kill('SIGKILL');
          second = startWorkers(1, { lockMs: 15_000, stalledMs: 1000 });
        }
      },
    });
    const [other] = await second!;
    expect(first.child.signalCode).toBe('SIGKILL');
    expect(first.starts().get('killed')).toBe(1);
    expect(other.starts().get('killed')).toBe(1);
    expect(withoutTiming(outcome.results[0])).toEqual(withoutTiming(reference.outcome.results[0]));
    expect(setContents(path.join(files.dir, 'killed-out'))).toEqual(setContents(path.join(files.dir, 'local-killed-out')));
    await stopWorkers([other]);
  });

  it('finishes a run across a Redis killed (SIGKILL) and restarted: no job lost, every result as in one process', async () => {
    const jobs = [
      invertJob('r1', files.lora, 'r1-out', 12),
      invertJob('r2', files.loraB, 'r2-out', 12),
      evaluateJob('r3', 0, 12),
      evaluateJob('r4', 3, 9),
    ];
    const reference = await referenceRun(jobs);
    const pool = await startWorkers(2);
    let restarted: Promise<void> | null = null;
    const outcome = await runJobsOnQueue(jobs, {
      redis: redis.url,
      version: 'test-restart',
      onEvent: (e) => {
        if (e.kind === 'step' && e.step === 3 && restarted === null) restarted = redis.restart('SIGKILL');
      },
    });
    await restarted;
    expect(restarted).not.toBeNull();
    expect(outcome.failures).toEqual([]);
    expect(outcome.results.map(withoutTiming)).toEqual(reference.outcome.results.map(withoutTiming));
    // every job ran; a job in flight whose lock renewal fell in the outage may have been taken for
    // stalled and run again (BullMQ runs a job at least once; docs/runs-across-machines.md): the
    // same result, since jobs are deterministic and write atomically (checked above)
    const starts = Object.fromEntries(totalStarts(pool));
    expect(Object.keys(starts).sort()).toEqual(['r1', 'r2', 'r3', 'r4']);
    for (const [id, count] of Object.entries(starts)) expect(count, id).toBeGreaterThanOrEqual(1);
    expect(Object.values(starts).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(jobs.length + pool.length); // at most those in flight again
    await stopWorkers(pool);
  });

  it('reports a job that fails on a corrupt LoRA file after its retries, while the other jobs finish', async () => {
    const corrupt = path.join(files.dir, 'corrupt.safetensors');
    fs.writeFileSync(corrupt, 'not a safetensors file');
    const jobs: ParallelJob[] = [evaluateJob('good 1', 0, 3), invertJob('bad', corrupt, 'bad-out', 2), evaluateJob('good 2', 3, 6)];
    const pool = await startWorkers(1);
    const outcome = await runJobsOnQueue(jobs, { redis: redis.url, version: 'test-corrupt', attempts: 2, backoffMs: 50 });
    expect(outcome.results.map((r) => r?.id ?? null)).toEqual(['good 1', null, 'good 2']);
    expect(outcome.failures).toHaveLength(1);
    expect(outcome.failures[0]).toMatchObject({ index: 1, id: 'bad', attempts: 2 });
    expect(outcome.failures[0].reason).toMatch(/^FileFormatError: .*corrupt\.safetensors/);
    expect(failuresError(jobs, outcome)?.message).toMatch(
      /1 of 3 queued jobs failed:\n {2}job "bad" \(job 1, invert-lora\) failed after 2 attempts: FileFormatError/,
    );
    expect(pool[0].starts().get('bad')).toBe(2);
    expect(fs.existsSync(path.join(files.dir, 'bad-out'))).toBe(false);
    await stopWorkers(pool);
  });

  it('runs each job once for two runs of the same jobs at once', async () => {
    const jobs = [
      invertJob('twice a', files.lora, 'twice-a', 6),
      evaluateJob('twice b', 0, 12),
      invertJob('twice c', files.loraB, 'twice-c', 6),
    ];
    const pool = await startWorkers(2);
    const [one, two] = await Promise.all([0, 1].map(() => runJobsOnQueue(jobs, { redis: redis.url, version: 'test-twice' })));
    expect([one.failures, two.failures]).toEqual([[], []]);
    expect(one.results).toEqual(two.results);
    expect(one.results.every((r) => r !== null)).toBe(true);
    expect(Object.fromEntries(totalStarts(pool))).toEqual({ 'twice a': 1, 'twice b': 1, 'twice c': 1 });
    await stopWorkers(pool);
  });

  it('on Stop removes the queued jobs and cancels the running one; the next run does them', async () => {
    const jobs = [
      invertJob('stop a', files.lora, 'stop-a', 40),
      invertJob('stop b', files.loraB, 'stop-b', 3),
      evaluateJob('stop c', 0, 3),
    ];
    const pool = await startWorkers(1);
    const controller = new AbortController();
    const stopped = await runJobsOnQueue(jobs, {
      redis: redis.url,
      version: 'test-stop',
      signal: controller.signal,
      onEvent: (e) => {
        if (e.kind === 'step' && e.run === 'stop a' && e.step === 3) controller.abort();
      },
    });
    expect(stopped.stopped).toBe(true);
    expect(stopped.results.slice(0, 2)).toEqual([null, null]); // "stop c" runs on the other queue: it may have finished
    const cFinished = stopped.results[2] !== null;
    expect(fs.existsSync(path.join(files.dir, 'stop-a'))).toBe(false);
    const resumed = await runJobsOnQueue(jobs, { redis: redis.url, version: 'test-stop' });
    expect(resumed.failures).toEqual([]);
    expect(resumed.results.map((r) => r?.id)).toEqual(['stop a', 'stop b', 'stop c']);
    expect(resumed.reused).toBe(cFinished ? 1 : 0);
    expect(pool[0].starts().get('stop a')).toBe(2); // cancelled, then run again
    expect(pool[0].starts().get('stop b')).toBe(1); // removed from the queue before it started
    expect(pool[0].starts().get('stop c')).toBe(1);
    await stopWorkers(pool);
  });
});
