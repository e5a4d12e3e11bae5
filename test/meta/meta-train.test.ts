import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metaTrain, type MetaTrainOptions } from '../../src/meta/meta-train';
import { metaLearningRate } from '../../src/meta/schedule';
import { CancelledError, CompatibilityError, FileFormatError } from '../../src/errors';
import type { RunEvent } from '../../src/progress/events';
import { ToyAdapter, ToyModel, toySet } from './toy';

beforeAll(async () => { await tf.setBackend('cpu'); });

const model = new ToyModel(4 * 4 * 3, 8);
const sets = [toySet(model, 3, 4, 11), toySet(model, 3, 4, 21), toySet(model, 3, 4, 31)];
const base: MetaTrainOptions = { steps: 8, episode: { ways: 3, shots: 1, queries: 2 }, patchGrid: 2, seed: 5, interpolatedFraction: 0.5 };
const weightsOf = (a: ToyAdapter) => [...a.a.dataSync(), ...a.b.dataSync()];
const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'meta-'));
afterAll(() => fs.rmSync(tempRoot, { recursive: true, force: true }));
const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(tempRoot, 'case-')), name);

describe('metaTrain', () => {
  it('updates only the meta-adapter, follows the schedule and reports every step', async () => {
    const meta = new ToyAdapter(8, 100);
    const teacherBefore = weightsOf(sets[0].teacher.adapter as ToyAdapter);
    const before = weightsOf(meta);
    const events: RunEvent[] = [];
    const result = await metaTrain(model, meta, sets, { ...base, onEvent: (e) => events.push(e) });
    expect(weightsOf(meta)).not.toEqual(before);
    expect(weightsOf(sets[0].teacher.adapter as ToyAdapter)).toEqual(teacherBefore);
    const steps = events.filter((e) => e.kind === 'step');
    expect(steps.map((e) => e.kind === 'step' && e.metrics.lr)).toEqual([...Array(8).keys()].map((s) => metaLearningRate(s)));
    expect(new Set(result.history.map((h) => h.kind))).toEqual(new Set(['single', 'interpolated']));
    expect(result.history.every((h) => Number.isFinite(h.loss) && h.accuracy >= 0 && h.accuracy <= 1)).toBe(true);
  });

  it('lowers the loss on a fixed episode stream with enough steps', async () => {
    const meta = new ToyAdapter(8, 200);
    const constantRate = { minRate: 1e-2, maxRate: 1e-2, cycleSteps: 100, warmupSteps: 1 };
    const options = { ...base, steps: 60, interpolatedFraction: 1, schedule: constantRate, flip: false };
    const result = await metaTrain(model, meta, sets, options);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(result.history.slice(-15).map((h) => h.loss))).toBeLessThan(mean(result.history.slice(0, 15).map((h) => h.loss)));
  });

  it('resumes from a checkpoint with the identical continuation', async () => {
    const straight = new ToyAdapter(8, 300);
    await metaTrain(model, straight, sets, { ...base, steps: 8 });
    const file = tempFile('ckpt.json');
    const first = new ToyAdapter(8, 300);
    await metaTrain(model, first, sets, { ...base, steps: 4, checkpointPath: file, checkpointEvery: 4 });
    const resumed = new ToyAdapter(8, 999); // different initial weights: all state must come from the checkpoint
    const result = await metaTrain(model, resumed, sets, { ...base, steps: 8, checkpointPath: file, checkpointEvery: 4 });
    expect(result.history.map((h) => h.step)).toEqual([5, 6, 7, 8]);
    const a = weightsOf(straight);
    weightsOf(resumed).forEach((w, i) => expect(Math.abs(w - a[i])).toBeLessThan(1e-6));
  });

  it('stops at the next step after an abort, saves its state, and resumes to the same weights', async () => {
    const straight = new ToyAdapter(8, 400);
    await metaTrain(model, straight, sets, { ...base, steps: 6 });
    const file = tempFile('ckpt.json');
    const controller = new AbortController();
    const stopped = new ToyAdapter(8, 400);
    const run = metaTrain(model, stopped, sets, {
      ...base, steps: 6, checkpointPath: file, checkpointEvery: 100, signal: controller.signal,
      onEvent: (e) => { if (e.kind === 'step' && e.step === 3) controller.abort(); },
    });
    await expect(run).rejects.toThrow(CancelledError);
    const resumed = new ToyAdapter(8, 1);
    const result = await metaTrain(model, resumed, sets, { ...base, steps: 6, checkpointPath: file });
    expect(result.history[0].step).toBe(4);
    const a = weightsOf(straight);
    weightsOf(resumed).forEach((w, i) => expect(Math.abs(w - a[i])).toBeLessThan(1e-6));
  });

  it('keeps the meta-adapter with the best validation accuracy', async () => {
    const meta = new ToyAdapter(8, 500);
    const scores = [0.2, 0.9, 0.5, 0.4];
    let atBest: number[] = [];
    const result = await metaTrain(model, meta, sets, {
      ...base, steps: 8, validateEvery: 2,
      validate: (adapter) => { const s = scores.shift()!; if (s === 0.9) atBest = weightsOf(adapter as ToyAdapter); return s; },
    });
    expect(result.best).toEqual({ step: 4, accuracy: 0.9 });
    expect(weightsOf(meta)).toEqual(atBest);
    expect(result.validation.map((v) => v.step)).toEqual([2, 4, 6, 8]);
  });

  it('refuses a checkpoint of another run and a corrupt checkpoint', async () => {
    const file = tempFile('ckpt.json');
    await metaTrain(model, new ToyAdapter(8, 600), sets, { ...base, steps: 2, checkpointPath: file });
    await expect(metaTrain(model, new ToyAdapter(8, 600), sets, { ...base, distance: 'squaredEuclidean', steps: 4, checkpointPath: file }))
      .rejects.toThrow(CompatibilityError);
    fs.writeFileSync(file, '{"format": "lora-recycle/meta-checkpoint@1", "step": -1}');
    await expect(metaTrain(model, new ToyAdapter(8, 600), sets, { ...base, steps: 4, checkpointPath: file })).rejects.toThrow(FileFormatError);
  });

  it('leaves the tensor count flat across steps', async () => {
    const meta = new ToyAdapter(8, 700);
    await metaTrain(model, meta, sets, { ...base, steps: 2 });
    const before = tf.memory().numTensors;
    await metaTrain(model, meta, sets, { ...base, steps: 12 });
    expect(tf.memory().numTensors).toBe(before);
  });
});
