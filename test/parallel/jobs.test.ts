import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { CancelledError, ConfigError } from '../../src/errors';
import { loadDatasetSpec } from '../../src/data';
import { JobResources, runJob, splitEpisodeList, type EvaluateEpisodesJob, type InvertLoraJob } from '../../src/parallel';
import { readSurrogateData } from '../../src/surrogate';
import { EMOJI_SPEC, useParallelFiles } from './fixtures';

const files = useParallelFiles();

describe('splitEpisodeList', () => {
  it('cuts a list into contiguous non-empty slices that concatenate to it', () => {
    const parts = splitEpisodeList(files.list, 5); // 12 episodes → 2, 2, 3, 2, 3
    expect(parts.map((p) => p.episodes.length)).toEqual([2, 2, 3, 2, 3]);
    expect(parts.flatMap((p) => p.episodes)).toEqual(files.list.episodes);
    expect(parts.every((p) => p.dataset === files.list.dataset && p.seed === files.list.seed)).toBe(true);
    expect(splitEpisodeList(files.list, 40)).toHaveLength(12); // never an empty slice
    expect(() => splitEpisodeList(files.list, 0)).toThrow(/parts must be a positive integer, found 0/);
  });
});

describe('jobs in this thread', () => {
  it('leave no tensors behind, once the shared backbone is loaded', async () => {
    const resources = new JobResources();
    const evaluate: EvaluateEpisodesJob = {
      kind: 'evaluate-episodes',
      id: 'e',
      backbone: files.backbone,
      lora: files.lora,
      dataset: EMOJI_SPEC,
      episodes: files.list,
    };
    const invert: InvertLoraJob = {
      kind: 'invert-lora',
      id: 'i',
      backbone: files.backbone,
      lora: files.lora,
      prior: files.prior,
      output: path.join(files.dir, 'leak'),
      options: { ways: 3, shots: 1, queries: 0, steps: 2, pruning: { 0: 0.5 }, pruneFrom: 0 },
    };
    const before = tf.memory().numTensors;
    await runJob(evaluate, resources); // loads the backbone (kept for the next jobs)
    const warm = tf.memory().numTensors;
    expect(warm).toBeGreaterThan(before);
    for (let i = 0; i < 2; i++) {
      await runJob(evaluate, resources);
      await runJob(invert, resources);
      expect(tf.memory().numTensors).toBe(warm);
    }
    resources.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stop between steps on the signal with CancelledError and write nothing', async () => {
    const resources = new JobResources();
    const controller = new AbortController();
    const evaluate: EvaluateEpisodesJob = {
      kind: 'evaluate-episodes',
      id: 'e',
      backbone: files.backbone,
      dataset: EMOJI_SPEC,
      episodes: files.list,
    };
    const partial = runJob(evaluate, resources, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.kind === 'step' && e.step === 3) controller.abort();
      },
    });
    await expect(partial).rejects.toThrow(new CancelledError('e stopped after 3 of 12 episodes; nothing saved'));

    const stop = new AbortController();
    const output = path.join(files.dir, 'stopped');
    const invert: InvertLoraJob = {
      kind: 'invert-lora',
      id: 'i',
      backbone: files.backbone,
      lora: files.lora,
      output,
      options: { ways: 3, shots: 1, queries: 0, steps: 50 },
    };
    const summary = runJob(invert, resources, {
      signal: stop.signal,
      onEvent: (e) => {
        if (e.kind === 'step' && e.step === 2) stop.abort();
      },
    });
    await expect(summary).rejects.toThrow(new CancelledError('i stopped after 2 of 50 steps; nothing saved'));
    expect(fs.existsSync(output)).toBe(false);
    resources.dispose();
  });

  it('replace an earlier surrogate set directory as a whole', async () => {
    const resources = new JobResources();
    const output = path.join(files.dir, 'replaced');
    const job = (seed: number): InvertLoraJob => ({
      kind: 'invert-lora',
      id: `seed ${seed}`,
      backbone: files.backbone,
      lora: files.lora,
      output,
      options: { ways: 3, shots: 1, queries: 0, steps: 1, seed },
    });
    await runJob(job(1), resources);
    fs.writeFileSync(path.join(output, 'stale.txt'), 'from an earlier run');
    const first = readSurrogateData(output);
    await runJob(job(2), resources);
    const second = readSurrogateData(output);
    expect(second.pixels).not.toEqual(first.pixels);
    expect(fs.readdirSync(output).sort()).toEqual(['image-0.png', 'image-1.png', 'image-2.png', 'surrogate.json', 'surrogate.safetensors']);
    resources.dispose();
  });

  it('name the problem with a LoRA without head, a bad dataset spec or a missing backbone', async () => {
    const resources = new JobResources();
    const headless = path.join(files.dir, 'headless.safetensors');
    const { loadLoraFile, saveLoraFile, disposeLoraRecord } = await import('../../src/io');
    const record = loadLoraFile(files.lora);
    saveLoraFile(headless, { ...record, head: undefined, classIds: [] });
    disposeLoraRecord(record);
    const invert: InvertLoraJob = {
      kind: 'invert-lora',
      id: 'i',
      backbone: files.backbone,
      lora: headless,
      output: path.join(files.dir, 'x'),
      options: { ways: 3, shots: 1, queries: 0, steps: 1 },
    };
    await expect(runJob(invert, resources)).rejects.toThrow(/headless\.safetensors: the LoRA has no task head/);
    expect(() => loadDatasetSpec({ loader: 'mnist', limit: 3 })).toThrow(ConfigError);
    expect(() => loadDatasetSpec({ loader: 'cifar' as never })).toThrow(
      /loader must be one of emoji, glyphs, glyph-domain, mnist, fashion-mnist, folder, found "cifar"/,
    );
    const evaluate: EvaluateEpisodesJob = {
      kind: 'evaluate-episodes',
      id: 'e',
      backbone: path.join(files.dir, 'nothing'),
      dataset: EMOJI_SPEC,
      episodes: files.list,
    };
    await expect(runJob(evaluate, resources)).rejects.toThrow(/nothing: no such file \(expected a CLIP model.safetensors/);
    resources.dispose();
  });
});
