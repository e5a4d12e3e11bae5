import * as fs from 'fs';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { episodeSource, loadEmojiDataset } from '../../src/data';
import { evaluateEpisodeSource } from '../../src/evaluation';
import { CancelledError } from '../../src/errors';
import { normalizeImages } from '../../src/model/preprocess';
import { loadLoraAdapter } from '../../src/parallel/evaluate-job';
import {
  JobResources,
  WorkerError,
  evaluateInParallel,
  liveWorkerCount,
  runInWorkers,
  runJob,
  type EvaluateEpisodesJob,
  type InvertLoraJob,
} from '../../src/parallel';
import type { RunEvent, StepEvent } from '../../src/progress/events';
import { readSurrogateData } from '../../src/surrogate';
import { EMOJI_SPEC, useParallelFiles } from './fixtures';

const files = useParallelFiles();

/** Single-process reference: evaluateEpisodeSource on the same backbone file, dataset and list. */
async function singleProcessAccuracies(lora?: string): Promise<number[]> {
  const resources = new JobResources();
  const backbone = resources.backbone(files.backbone);
  const adapter = lora ? loadLoraAdapter(lora, backbone.config) : null;
  const source = episodeSource(await loadEmojiDataset({ limit: EMOJI_SPEC.limit }), files.list, normalizeImages);
  const result = await evaluateEpisodeSource((x) => backbone.forward(x, { adapter }).features, source);
  adapter?.dispose();
  resources.dispose();
  return result.accuracies;
}

function evaluateJob(id: string, from: number, to: number, extra: Partial<EvaluateEpisodesJob> = {}): EvaluateEpisodesJob {
  return {
    kind: 'evaluate-episodes',
    id,
    backbone: files.backbone,
    dataset: EMOJI_SPEC,
    episodes: { ...files.list, episodes: files.list.episodes.slice(from, to) },
    ...extra,
  };
}

describe('evaluateInParallel', () => {
  it('gives exactly the accuracies of a single-process evaluation, in list order, with and without a LoRA', async () => {
    const events: RunEvent[] = [];
    const plain = await evaluateInParallel(files.backbone, EMOJI_SPEC, files.list, {
      workers: 2,
      chunks: 3,
      backend: 'cpu',
      onEvent: (e) => events.push(e),
    });
    const expected = await singleProcessAccuracies();
    expect(plain.accuracies).toEqual(expected);
    expect(plain.episodes).toBe(12);
    expect(plain.backends.map((b) => b.name)).toEqual(['cpu', 'cpu']);
    expect(new Set(expected).size).toBeGreaterThan(1); // the episodes differ: a real comparison
    const steps = events.filter((e): e is StepEvent => e.kind === 'step');
    expect(steps.map((e) => e.step)).toEqual(expected.map((_, i) => i + 1));
    expect(steps.every((e) => e.run === 'evaluate' && e.totalSteps === 12)).toBe(true);

    const withLora = await evaluateInParallel(files.backbone, EMOJI_SPEC, files.list, { workers: 2, backend: 'cpu', lora: files.lora });
    expect(withLora.accuracies).toEqual(await singleProcessAccuracies(files.lora));
    expect(withLora.accuracies).not.toEqual(expected); // the LoRA changed the features
    expect(liveWorkerCount()).toBe(0);
  });

  it('throws CancelledError when stopped, never a partial result', async () => {
    const controller = new AbortController();
    const run = evaluateInParallel(files.backbone, EMOJI_SPEC, files.list, {
      workers: 2,
      chunks: 2,
      backend: 'cpu',
      signal: controller.signal,
      onEvent: (e) => {
        if (e.kind === 'step' && e.run === 'evaluate' && e.step === 2) controller.abort();
      },
    });
    await expect(run).rejects.toThrow(CancelledError);
    await expect(run).rejects.toThrow(/^evaluate stopped after \d+ of 12 episodes; nothing saved$/);
    expect(liveWorkerCount()).toBe(0);
  });

  it('rejects an episode list of another dataset before starting workers', async () => {
    const foreign = { ...files.list, dataset: 'glyphs-32' };
    await expect(evaluateInParallel(files.backbone, EMOJI_SPEC, foreign, { workers: 2, backend: 'cpu' })).rejects.toThrow(
      /sampled from glyphs-32 at 32px, not emoji-32-limit4/,
    );
    expect(liveWorkerCount()).toBe(0);
  });
});

describe('runInWorkers', () => {
  it('returns results in job order whichever worker finishes first, with events named by job', async () => {
    // job 0 is the longest: with 2 workers, jobs 1 and 2 usually finish before it
    const jobs = [evaluateJob('long', 0, 8), evaluateJob('short-1', 8, 10), evaluateJob('short-2', 10, 12)];
    const runs: string[] = [];
    const outcome = await runInWorkers(jobs, { workers: 2, backend: 'cpu', onEvent: (e) => runs.push(e.run) });
    expect(outcome.results.map((r) => r?.id)).toEqual(['long', 'short-1', 'short-2']);
    expect(outcome.results.map((r) => r?.accuracies.length)).toEqual([8, 2, 2]);
    const expected = await singleProcessAccuracies();
    expect(outcome.results.flatMap((r) => r!.accuracies)).toEqual(expected);
    expect(runs.filter((r) => r === 'long')).toHaveLength(8);
    expect(outcome.backends).toHaveLength(2); // both workers started and selected their backend
    expect(liveWorkerCount()).toBe(0);
  });

  it('stops the running job at its next step on abort and resolves with the jobs that finished', async () => {
    const controller = new AbortController();
    const jobs = [evaluateJob('first', 0, 2), evaluateJob('second', 0, 12), evaluateJob('third', 0, 12)];
    const steps: string[] = [];
    const outcome = await runInWorkers(jobs, {
      workers: 1,
      backend: 'cpu',
      signal: controller.signal,
      onEvent: (e) => {
        if (e.kind === 'step') steps.push(`${e.run}:${e.step}`);
        if (e.run === 'second' && e.kind === 'step' && e.step === 2) controller.abort();
      },
    });
    expect(outcome.stopped).toBe(true);
    expect(outcome.results[0]!.accuracies).toEqual((await singleProcessAccuracies()).slice(0, 2));
    expect(outcome.results[1]).toBeNull(); // stopped part-way: not finished
    expect(outcome.results[2]).toBeNull(); // never started
    expect(steps.filter((s) => s.startsWith('second')).length).toBeLessThan(12);
    expect(liveWorkerCount()).toBe(0);
  });

  it('resolves at once, starting no worker, when the signal is already aborted or there are no jobs', async () => {
    const outcome = await runInWorkers([evaluateJob('never', 0, 2)], { signal: AbortSignal.abort() });
    expect(outcome).toEqual({ results: [null], stopped: true, backends: [] });
    expect(await runInWorkers([])).toEqual({ results: [], stopped: false, backends: [] });
  });

  it('rejects with an error naming a failing job and leaves no live worker', async () => {
    const missing = path.join(files.dir, 'no-such-lora.safetensors');
    const jobs = [evaluateJob('fine', 0, 12), evaluateJob('broken', 0, 2, { lora: missing })];
    const failure = runInWorkers(jobs, { workers: 2, backend: 'cpu' });
    await expect(failure).rejects.toThrow(WorkerError);
    await expect(failure).rejects.toThrow(/job "broken" \(job 1, evaluate-episodes\) failed in worker \d: .*no-such-lora\.safetensors/);
    await failure.catch((error: WorkerError) => expect(error.job).toMatchObject({ id: 'broken', index: 1 }));
    expect(liveWorkerCount()).toBe(0);
  });

  it('rejects a job that is not plain data, naming it', async () => {
    const job = { ...evaluateJob('with a function', 0, 1), distance: (() => 'euclidean') as never };
    await expect(runInWorkers([job], { workers: 1, backend: 'cpu' })).rejects.toThrow(
      /job "with a function" \(job 0, evaluate-episodes\) cannot be sent to a worker \(jobs must be plain data\)/,
    );
    expect(liveWorkerCount()).toBe(0);
  });

  it('rejects a worker that cannot select its backend, naming the backend problem', async () => {
    await expect(runInWorkers([evaluateJob('x', 0, 1)], { workers: 1, backend: 'tensorflow-gpu' })).rejects.toThrow(
      /worker 0 could not select its backend: BackendError: backend "tensorflow-gpu" could not start/,
    );
    expect(liveWorkerCount()).toBe(0);
  });

  it('checks jobs and options before starting workers', async () => {
    await expect(runInWorkers([evaluateJob('same', 0, 1), evaluateJob('same', 1, 2)])).rejects.toThrow(
      /job 1: id "same" is used by an earlier job/,
    );
    await expect(runInWorkers([evaluateJob('x', 0, 1)], { threadsPerWorker: 0 })).rejects.toThrow(
      /threadsPerWorker must be a positive integer, found 0/,
    );
    await expect(runInWorkers([{ ...evaluateJob('x', 0, 1), kind: 'train' } as never])).rejects.toThrow(
      /job 0: kind must be one of evaluate-episodes, invert-lora, pretune-lora, evaluate-method, found "train"/,
    );
    expect(liveWorkerCount()).toBe(0);
  });

  it('inverts LoRAs in workers exactly as in this thread and writes each result to its directory', async () => {
    const job = (id: string, lora: string, output: string): InvertLoraJob => ({
      kind: 'invert-lora',
      id,
      backbone: files.backbone,
      lora,
      prior: files.prior,
      output: path.join(files.dir, output),
      options: { ways: 3, shots: 1, queries: 1, steps: 4, pruning: { 1: 0.5 }, pruneFrom: 0.5, seed: 2 },
    });
    const jobs = [job('invert a', files.lora, 'out-a'), job('invert b', files.loraB, 'out-b')];
    const runs = new Set<string>();
    const outcome = await runInWorkers(jobs, { workers: 2, backend: 'cpu', onEvent: (e) => runs.add(e.run) });
    expect(runs).toEqual(new Set(['invert a', 'invert b']));
    const resources = new JobResources();
    const reference = await runJob(job('reference a', files.lora, 'ref-a'), resources);
    resources.dispose();
    const [a, b] = outcome.results;
    expect(a).toMatchObject({ id: 'invert a', images: 6, steps: 4, totalSteps: 4 });
    expect(a!.lastStep).toEqual(reference.kind === 'invert-lora' ? reference.lastStep : null);
    const fromWorker = readSurrogateData(path.join(files.dir, 'out-a'));
    const inThread = readSurrogateData(path.join(files.dir, 'ref-a'));
    expect(fromWorker.pixels).toEqual(inThread.pixels);
    expect(fromWorker.masks).toEqual(inThread.masks);
    expect(fromWorker.info.keptPatches).toEqual(inThread.info.keptPatches);
    expect(fromWorker.info.classNames).toEqual(['class-11-0', 'class-11-1', 'class-11-2']); // the LoRA's class ids
    expect(readSurrogateData(path.join(files.dir, 'out-b')).pixels).not.toEqual(fromWorker.pixels);
    expect(b!.output).toBe(path.join(files.dir, 'out-b'));
    expect(fs.readdirSync(files.dir).filter((f) => f.startsWith('.'))).toEqual([]); // no temporary directory left
    expect(liveWorkerCount()).toBe(0);
  });
});
