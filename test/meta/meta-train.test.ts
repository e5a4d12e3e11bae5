import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metaTrain, type MetaTrainOptions } from '../../src/meta/meta-train';
import { PAPER_SCHEDULE } from '../../src/meta/schedule';
import { warmupCosineRate } from '../../src/optim/schedule';
import { CancelledError, CompatibilityError, FileFormatError } from '../../src/errors';
import type { RunEvent } from '../../src/progress/events';
import type { Adapter } from '../../src/model/adapter-hook';
import { ToyAdapter, ToyModel, toySet } from './toy';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('cpu');
});

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
    expect(steps.map((e) => e.kind === 'step' && e.metrics.lr)).toEqual(
      [...Array(8).keys()].map((s) => warmupCosineRate(s, PAPER_SCHEDULE)),
    );
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
    expect(result.history.map((h) => h.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]); // the whole run, from the checkpoint
    expect(weightsOf(resumed)).toEqual(weightsOf(straight));
  });

  it('calibrates the logit scale once on the fresh meta-adapter and keeps it across a resume', async () => {
    const straight = new ToyAdapter(8, 500);
    const whole = await metaTrain(model, straight, sets, { ...base, logitScale: 'calibrated' });
    expect(whole.logitScale).not.toBe(1);
    const file = tempFile('ckpt.json');
    await metaTrain(model, new ToyAdapter(8, 500), sets, {
      ...base,
      steps: 4,
      logitScale: 'calibrated',
      checkpointPath: file,
      checkpointEvery: 4,
    });
    const resumed = await metaTrain(model, new ToyAdapter(8, 999), sets, {
      ...base,
      logitScale: 'calibrated',
      checkpointPath: file,
      checkpointEvery: 4,
    });
    expect(resumed.logitScale).toBe(whole.logitScale); // from the checkpoint: the different start would calibrate otherwise
    expect(resumed.history.map((h) => h.loss)).toEqual(whole.history.map((h) => h.loss));
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('stops at the next step after an abort, saves its state there, and resumes (twice) to the same weights and metrics', async () => {
    // validation depends on the weights, so equal validation histories mean equal states when validated
    const options = {
      ...base,
      steps: 8,
      validateEvery: 2,
      validate: (a: Adapter) => Math.abs(weightsOf(a as ToyAdapter).reduce((x, y) => x + y, 0)) % 1,
    };
    const straight = new ToyAdapter(8, 400);
    const expected = await metaTrain(model, straight, sets, options);
    const file = tempFile('ckpt.json');
    const stopAt = async (adapter: ToyAdapter, stop: number) => {
      const controller = new AbortController();
      const saved: number[] = [];
      const run = metaTrain(model, adapter, sets, {
        ...options,
        checkpointPath: file,
        checkpointEvery: 100,
        signal: controller.signal,
        onEvent: (e) => {
          if (e.kind === 'step' && e.step === stop) controller.abort();
          if (e.kind === 'checkpoint') saved.push(e.step);
        },
      });
      await expect(run).rejects.toThrow(CancelledError);
      expect(saved).toEqual([stop]); // saved at the interrupt, not at a periodic checkpoint
    };
    await stopAt(new ToyAdapter(8, 400), 3);
    await stopAt(new ToyAdapter(8, 2), 6);
    const resumed = new ToyAdapter(8, 1);
    const result = await metaTrain(model, resumed, sets, { ...options, checkpointPath: file });
    expect(result.history).toEqual(expected.history);
    expect(result.validation).toEqual(expected.validation);
    expect(result.validation.map((v) => v.step)).toEqual([2, 4, 6, 8]);
    expect(result.best).toEqual(expected.best);
    expect(result.steps).toBe(8);
    expect(weightsOf(resumed)).toEqual(weightsOf(straight));
  });

  it('keeps the meta-adapter with the best validation accuracy', async () => {
    const meta = new ToyAdapter(8, 500);
    const scores = [0.2, 0.9, 0.5, 0.4];
    let atBest: number[] = [];
    const result = await metaTrain(model, meta, sets, {
      ...base,
      steps: 8,
      validateEvery: 2,
      validate: (adapter) => {
        const s = scores.shift()!;
        if (s === 0.9) atBest = weightsOf(adapter as ToyAdapter);
        return s;
      },
    });
    expect(result.best).toEqual({ step: 4, accuracy: 0.9 });
    expect(weightsOf(meta)).toEqual(atBest);
    expect(result.validation.map((v) => v.step)).toEqual([2, 4, 6, 8]);
  });

  it('ends early after `patience` validations without a new best, keeps the best, and a resume ends there too', async () => {
    const scores = [0.2, 0.9, 0.5, 0.9, 0.4, 0.95]; // the tie at step 8 is not a new best; step 12 is never reached
    const validate = () => scores.shift()!;
    const file = tempFile('ckpt.json');
    const options = { ...base, steps: 12, validateEvery: 2, checkpointEvery: 5, patience: 2, checkpointPath: file };
    const events: RunEvent[] = [];
    const meta = new ToyAdapter(8, 550);
    const result = await metaTrain(model, meta, sets, { ...options, validate, onEvent: (e) => events.push(e) });
    expect(result.steps).toBe(8);
    expect(result.validation.map((v) => v.step)).toEqual([2, 4, 6, 8]);
    expect(result.best).toEqual({ step: 4, accuracy: 0.9 });
    expect(events.some((e) => e.kind === 'phase' && e.phase === 'finished early')).toBe(true);
    // the stop's checkpoint is at step 8 (not a multiple of checkpointEvery): the same call finishes at once
    const resumed = new ToyAdapter(8, 551);
    const again = await metaTrain(model, resumed, sets, { ...options, validate: () => 1 });
    expect([again.steps, again.best]).toEqual([8, { step: 4, accuracy: 0.9 }]);
    expect(weightsOf(resumed)).toEqual(weightsOf(meta));
    // without patience every step runs
    const all = await metaTrain(model, new ToyAdapter(8, 552), sets, { ...base, steps: 12, validateEvery: 2, validate: () => 0.5 });
    expect(all.steps).toBe(12);
  });

  it('refuses a patience that is not a positive integer', async () => {
    await expect(metaTrain(model, new ToyAdapter(8, 553), sets, { ...base, patience: 0 })).rejects.toThrow(
      /patience must be a positive integer/,
    );
  });

  it('refuses a checkpoint of another run and a corrupt checkpoint', async () => {
    const file = tempFile('ckpt.json');
    await metaTrain(model, new ToyAdapter(8, 600), sets, { ...base, steps: 2, checkpointPath: file });
    await expect(
      metaTrain(model, new ToyAdapter(8, 600), sets, { ...base, distance: 'squaredEuclidean', steps: 4, checkpointPath: file }),
    ).rejects.toThrow(CompatibilityError);
    fs.writeFileSync(file, `{"format": "lora-recycle/meta-checkpoint@2", "step": -1}`);
    await expect(metaTrain(model, new ToyAdapter(8, 600), sets, { ...base, steps: 4, checkpointPath: file })).rejects.toThrow(
      FileFormatError,
    );
  });

  it('leaves the tensor count flat across steps', async () => {
    const meta = new ToyAdapter(8, 700);
    await metaTrain(model, meta, sets, { ...base, steps: 2 });
    const before = tf.memory().numTensors;
    await metaTrain(model, meta, sets, { ...base, steps: 12 });
    expect(tf.memory().numTensors).toBe(before);
  });
});
