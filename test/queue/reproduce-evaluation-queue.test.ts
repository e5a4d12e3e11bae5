import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { UniformComposition } from '../../src/adapters';
import { loadDatasetSpec, sampleEpisodes } from '../../src/data';
import { loadLora } from '../../src/io/load-lora';
import { inProcessRunner, type JobRunner } from '../../src/parallel';
import { queueRunner } from '../../src/queue';
import { evaluationStage } from '../../src/reproduce/evaluation-stage';
import type { TuningFreeRow } from '../../src/reproduce/stages';
import { pipelineEpisodes } from '../../src/reproduce/wiring';
import { zooEntryFile } from '../../src/zoo';
import { EMOJI_SPEC, EMOJI_ZOO, parallelRunConfig } from '../parallel/fixtures';
import { useTestZoo } from '../zoo/fixtures';
import { useRedis } from './redis-server';
import { startWorker, type WorkerProcess } from './worker-processes';

const made = useTestZoo('lora-reproduce-evaluation-queue-', EMOJI_ZOO); // the configuration's backbone and a zoo of it
const workers: WorkerProcess[] = [];
const redis = useRedis(workers);

describe("the reproduction's evaluation stage with a Redis (reproduce --redis)", () => {
  it('gives the per-episode accuracies of the one-process run for every row (ablation meta-LoRAs, tuned methods, a Table 4/5 row) through 2 worker processes', async () => {
    const config = parallelRunConfig('reproduce-evaluation-queue');
    const emoji = await loadDatasetSpec(EMOJI_SPEC);
    const source = pipelineEpisodes(
      emoji,
      EMOJI_SPEC,
      sampleEpisodes(emoji, 'novel', { ways: 5, shots: 1, queries: 3, count: 6, seed: 7 }),
    );
    // two meta-LoRA files as the reproduction keeps them: LoRA Recycle's and an ablation variant's (here, the zoo's two LoRAs)
    const [recycleFile, oracleFile] = made.zoo.entries.map((e) => zooEntryFile(made.zoo.directory!, e.id));
    const recycle = loadLora(recycleFile, { config: made.backbone.config });
    const oracle = loadLora(oracleFile, { config: made.backbone.config });
    const uniform = UniformComposition.create(made.zoo.entries.map((e) => e.parameters));
    const rows: TuningFreeRow[] = [
      { method: 'nn', adapter: null, scorer: 'nn' },
      { method: 'uniform-nn', adapter: uniform, scorer: 'uniform-nn' },
      { method: 'lora-recycle', adapter: recycle, scorer: 'lora-recycle', meta: recycleFile },
      { method: 'oracle', adapter: oracle, scorer: 'lora-recycle', meta: oracleFile },
    ];
    const context = { backbone: made.backbone, zoo: made.zoo.entries.map((e) => e.parameters), metaLora: recycle };
    const files = { zoo: made.zoo.directory!, meta: recycleFile };
    const tuned = ['lora-linear', 'learned-composition'];
    const run = async (runner: JobRunner) => {
      const stage = evaluationStage(context, files, config, path.join(made.tmp, runner.remote ? 'queued' : 'local'), runner, {});
      return { block: await stage.block(rows, tuned, source, 3), pruningRow: await stage.metaLora(oracle, oracleFile, source) };
    };
    const before = tf.memory().numTensors;
    const local = await run(inProcessRunner());
    workers.push(...(await Promise.all([0, 1].map(() => startWorker(redis.url, { lockMs: 15_000, stalledMs: 2_000 })))));
    const queued = await run(queueRunner(redis.url));
    expect(tf.memory().numTensors).toBe(before);
    uniform.dispose();
    recycle.dispose();
    oracle.dispose();

    const withoutTime = ({ seconds: _, ...rest }: { seconds: number }) => rest;
    expect(queued.block.map(withoutTime)).toEqual(local.block.map(withoutTime));
    expect(withoutTime(queued.pruningRow)).toEqual(withoutTime(local.pruningRow));
    expect(queued.block.map((r) => `${r.method}:${r.n}`)).toEqual([
      'nn:6',
      'uniform-nn:6',
      'lora-recycle:6',
      'oracle:6',
      'lora-linear:3',
      'learned-composition:3',
    ]);
    expect(queued.block[3].accuracies).not.toEqual(queued.block[2].accuracies); // each meta-LoRA row scored with its own file
    expect(queued.pruningRow).toMatchObject({ method: 'lora-recycle', n: 6, accuracies: queued.block[3].accuracies });
    expect(fs.existsSync(path.join(made.tmp, 'queued', '.backbone', 'model.safetensors'))).toBe(true); // the random backbone, for the workers
    const started = new Set(workers.flatMap((w) => [...w.starts().keys()]));
    expect(started).toContain('evaluate oracle block 1/1'); // the ablation row as its own jobs, with its own meta-LoRA
    expect(started).toContain('evaluate lora-linear block 1/1');
  });
});
