import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { currentBackend } from '../../src/backend';
import { ConfigError } from '../../src/errors';
import {
  evaluateEpisodeList,
  executionFor,
  invertLoraJobs,
  liveWorkerCount,
  measuredRunner,
  PARALLEL_MODE_ENV,
  runInThisThread,
  type ExecutionMode,
  type InvertLoraJob,
} from '../../src/parallel';
import type { StepEvent } from '../../src/progress/events';
import { readSurrogateData } from '../../src/surrogate';
import { EMOJI_SPEC, useParallelFiles } from './fixtures';

const files = useParallelFiles();
afterEach(() => vi.unstubAllEnvs());

/** Step events of a run, with the number of pool workers alive when each arrived (0: it ran in this thread). */
function recorder() {
  const steps: StepEvent[] = [];
  const liveWorkers: number[] = [];
  return {
    steps,
    liveWorkers,
    onEvent: (e: { kind: string }) => {
      if (e.kind === 'step') {
        steps.push(e as StepEvent);
        liveWorkers.push(liveWorkerCount());
      }
    },
  };
}

const inWorkers = (liveWorkers: number[]) => liveWorkers.length > 0 && liveWorkers.every((n) => n > 0);
const inThisThread = (liveWorkers: number[]) => liveWorkers.length > 0 && liveWorkers.every((n) => n === 0);

describe('evaluateEpisodeList', () => {
  it('gives the same accuracies in list order and the same step events in this thread as in workers', async () => {
    const run = async (execution: ExecutionMode) => {
      const events = recorder();
      const result = await evaluateEpisodeList(files.backbone, EMOJI_SPEC, files.list, {
        execution,
        workers: 2,
        backend: 'cpu',
        lora: files.lora,
        onEvent: events.onEvent,
      });
      return { result, events };
    };
    const before = tf.memory().numTensors;
    const here = await run('in-process');
    expect(tf.memory().numTensors).toBe(before); // this thread's backbone and LoRA are freed
    const pool = await run('workers');
    expect(here.result.accuracies).toEqual(pool.result.accuracies);
    expect(new Set(pool.result.accuracies).size).toBeGreaterThan(1); // the episodes differ: a real comparison
    expect(here.result).toMatchObject({ episodes: 12, mean: pool.result.mean, ci95: pool.result.ci95 });
    expect(here.result.execution).toEqual({ mode: 'in-process', reason: 'execution option' });
    expect(here.result.backends).toEqual([currentBackend()]);
    expect(pool.result.backends.map((b) => b.name)).toEqual(['cpu', 'cpu']);
    expect(inThisThread(here.events.liveWorkers)).toBe(true);
    expect(inWorkers(pool.events.liveWorkers)).toBe(true);
    for (const { events } of [here, pool]) {
      expect(events.steps.map((e) => e.step)).toEqual(pool.result.accuracies.map((_, i) => i + 1));
      expect(events.steps.every((e) => e.run === 'evaluate' && e.totalSteps === 12)).toBe(true);
      expect(events.steps.map((e) => e.metrics.accuracy).sort()).toEqual([...pool.result.accuracies].sort()); // workers finish chunks in any order
    }
    expect(liveWorkerCount()).toBe(0);
  });

  it(`runs as ${PARALLEL_MODE_ENV} / executionFor('evaluate') says, unless the execution option says otherwise`, async () => {
    const short = { ...files.list, episodes: files.list.episodes.slice(0, 2) };
    const run = async (execution?: ExecutionMode) => {
      const events = recorder();
      const result = await evaluateEpisodeList(files.backbone, EMOJI_SPEC, short, {
        execution,
        workers: 1,
        backend: 'cpu',
        onEvent: events.onEvent,
      });
      return { execution: result.execution, liveWorkers: events.liveWorkers };
    };
    vi.stubEnv(PARALLEL_MODE_ENV, 'evaluate=workers,invert=in-process');
    const byEnv = await run();
    expect(byEnv.execution).toEqual({ mode: 'workers', reason: `${PARALLEL_MODE_ENV}=evaluate=workers,invert=in-process` });
    expect(inWorkers(byEnv.liveWorkers)).toBe(true);

    vi.stubEnv(PARALLEL_MODE_ENV, 'in-process');
    expect(inThisThread((await run()).liveWorkers)).toBe(true);

    vi.stubEnv(PARALLEL_MODE_ENV, 'workers');
    const byOption = await run('in-process');
    expect(byOption.execution.mode).toBe('in-process');
    expect(inThisThread(byOption.liveWorkers)).toBe(true);

    vi.stubEnv(PARALLEL_MODE_ENV, ''); // no override: this machine's timings (or the reference)
    const measured = await run();
    expect(measured.execution).toEqual(executionFor('evaluate'));
    expect((measured.execution.mode === 'workers' ? inWorkers : inThisThread)(measured.liveWorkers)).toBe(true);
    expect(liveWorkerCount()).toBe(0);
  });

  it('names a bad execution option or override before evaluating anything', async () => {
    await expect(evaluateEpisodeList(files.backbone, EMOJI_SPEC, files.list, { execution: 'threads' as never })).rejects.toThrow(
      /execution must be "in-process" or "workers", found "threads"/,
    );
    vi.stubEnv(PARALLEL_MODE_ENV, 'evaluate=fast');
    await expect(evaluateEpisodeList(files.backbone, EMOJI_SPEC, files.list)).rejects.toThrow(ConfigError);
    await expect(
      evaluateEpisodeList(files.backbone, EMOJI_SPEC, { ...files.list, episodes: [] }, { execution: 'in-process' }),
    ).rejects.toThrow(/the episode list holds no episodes/);
  });
});

describe('invertLoraJobs', () => {
  const job = (id: string, lora: string, output: string): InvertLoraJob => ({
    kind: 'invert-lora',
    id,
    backbone: files.backbone,
    lora,
    prior: files.prior,
    output: path.join(files.dir, output),
    options: { ways: 3, shots: 1, queries: 1, steps: 3, pruning: { 1: 0.5 }, pruneFrom: 0.5, seed: 4 },
  });

  it('inverts in this thread exactly as in workers, as the override or the execution option says', async () => {
    vi.stubEnv(PARALLEL_MODE_ENV, 'invert=in-process');
    const hereEvents = recorder();
    const before = tf.memory().numTensors;
    const here = await invertLoraJobs([job('a', files.lora, 'here-a'), job('b', files.loraB, 'here-b')], { onEvent: hereEvents.onEvent });
    expect(tf.memory().numTensors).toBe(before);
    expect(here.execution).toEqual({ mode: 'in-process', reason: `${PARALLEL_MODE_ENV}=invert=in-process` });
    expect(inThisThread(hereEvents.liveWorkers)).toBe(true);

    const poolEvents = recorder();
    const pool = await invertLoraJobs([job('a', files.lora, 'pool-a'), job('b', files.loraB, 'pool-b')], {
      execution: 'workers',
      workers: 1,
      backend: 'cpu',
      onEvent: poolEvents.onEvent,
    });
    expect(pool.execution.mode).toBe('workers');
    expect(inWorkers(poolEvents.liveWorkers)).toBe(true);

    expect(here.results.map((r) => r?.id)).toEqual(['a', 'b']);
    expect(here.results.map((r) => r?.lastStep)).toEqual(pool.results.map((r) => r?.lastStep));
    for (const name of ['a', 'b']) {
      const inThread = readSurrogateData(path.join(files.dir, `here-${name}`));
      const fromWorker = readSurrogateData(path.join(files.dir, `pool-${name}`));
      expect(inThread.pixels).toEqual(fromWorker.pixels);
      expect(inThread.info.keptPatches).toEqual(fromWorker.info.keptPatches);
    }
    expect(readSurrogateData(path.join(files.dir, 'here-a')).pixels).not.toEqual(readSurrogateData(path.join(files.dir, 'here-b')).pixels);
    expect(liveWorkerCount()).toBe(0);
  });
});

describe('measuredRunner', () => {
  it(`runs each job kind where ${PARALLEL_MODE_ENV} said when the runner was made`, async () => {
    const runner = measuredRunner({ env: { [PARALLEL_MODE_ENV]: 'evaluate=workers,invert=in-process' }, workers: 1, backend: 'cpu' });
    expect([runner.execution.evaluate.mode, runner.execution.invert.mode, runner.remote]).toEqual(['workers', 'in-process', false]);
    const evaluate = recorder();
    const episodes = { ...files.list, episodes: files.list.episodes.slice(0, 2) };
    await runner.run([{ kind: 'evaluate-episodes', id: 'e', backbone: files.backbone, dataset: EMOJI_SPEC, episodes }], {
      onEvent: evaluate.onEvent,
    });
    expect(inWorkers(evaluate.liveWorkers)).toBe(true);
    const invert = recorder();
    const output = path.join(files.dir, 'measured-invert');
    await runner.run(
      [
        {
          kind: 'invert-lora',
          id: 'i',
          backbone: files.backbone,
          lora: files.lora,
          output,
          options: { ways: 3, shots: 1, queries: 0, steps: 2 },
        },
      ],
      {
        onEvent: invert.onEvent,
      },
    );
    expect(inThisThread(invert.liveWorkers)).toBe(true);
  });
});

describe('runInThisThread', () => {
  it('stops at the next step on the signal and leaves the jobs not finished as null', async () => {
    const controller = new AbortController();
    const jobs: InvertLoraJob[] = ['first', 'second'].map((id) => ({
      kind: 'invert-lora',
      id,
      backbone: files.backbone,
      lora: files.lora,
      output: path.join(files.dir, `stop-${id}`),
      options: { ways: 3, shots: 1, queries: 0, steps: 20 },
    }));
    const outcome = await runInThisThread(jobs, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.kind === 'step' && e.step === 2) controller.abort();
      },
    });
    expect(outcome.stopped).toBe(true);
    expect(outcome.results[0]).toBeNull(); // stopped part-way: not finished, nothing written
    expect(fs.existsSync(path.join(files.dir, 'stop-first'))).toBe(false);
    expect(outcome.results[1]).toBeNull();
    expect(await runInThisThread(jobs, { signal: controller.signal })).toEqual({ results: [null, null], stopped: true, backends: [] });
  });
});
