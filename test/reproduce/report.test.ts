import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { featureDiversity, windowedCurve } from '../../src/reproduce/diagnostics';
import { bestMethodStatement, pairedWords, renderMarkdown, verdicts, type ReproductionReport } from '../../src/reproduce/report';
import { checkReportShape, reportJson } from '../../src/reproduce/report-file';
import { meanWithInterval, pairedDifference } from '../../src/evaluation';
import { loadRunConfig, validateRunConfig } from '../../src/reproduce/config';
import { ConfigError } from '../../src/errors';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('cpu');
});

const row = (method: string, mean: number, ci95: number) => ({ method, mean, ci95, n: 50, seconds: 1 });

/** A row with per-episode accuracies (5 queries an episode) and its paired difference against `nn`. */
const scored = (method: string, correct: number[], nn?: number[]) => {
  const accuracies = correct.map((k) => k / 5);
  const own = meanWithInterval(accuracies);
  return {
    method,
    ...own,
    seconds: 1,
    correct,
    ...(nn
      ? {
          vsNn: pairedDifference(
            accuracies,
            nn.map((k) => k / 5),
          ),
        }
      : {}),
  };
};
const fives = (n: number) => new Array<number>(n).fill(5);

/** A report with no rows, no statements and plain diagnostics, for the tests to fill in. */
const bareReport = (): ReproductionReport => ({
  profile: 'quick',
  startedAt: '2026-01-01T00:00:00Z',
  seconds: 100,
  machine: { cpus: 2, backend: 'wasm', node: 'v20' },
  settings: {},
  table23: [],
  table45: [],
  diagnostics: {
    targetConfidence: { mean: 0.9, min: 0.5, max: 1 },
    surrogateDiversity: { withinClass: 0.1, betweenClass: 0.3 },
    learningCurve: [],
    validation: [],
    bestStep: null,
  },
  statements: [],
  notes: [],
});

describe('reproduction report', () => {
  it('reads LoRA Recycle against NN from the paired interval, not from overlapping unpaired ones', () => {
    // Recycle is one query below NN on every episode: a loss the paired interval shows, though the unpaired intervals overlap
    const nn = [3, 5, 1, 4, 2, 5, 3, 1];
    const recycle = nn.map((k) => k - 1);
    const block = { set: 'fashion-mnist', shots: 5, rows: [scored('nn', nn), scored('lora-recycle', recycle, nn)], queries: fives(8) };
    const [nnRow, recycleRow] = block.rows;
    expect(Math.abs(recycleRow.mean - nnRow.mean)).toBeLessThan(recycleRow.ci95! + nnRow.ci95!);
    const lines = verdicts([block]);
    expect(lines[0]).toBe(
      'fashion-mnist 5-way 5-shot: LoRA Recycle is worse than NN (LoRA Recycle − NN -20.00 ± 0.00 points, paired over 8 episodes).',
    );
    const tie = verdicts([
      { set: 'mnist', shots: 1, rows: [scored('nn', nn), scored('lora-recycle', [4, 4, 1, 4, 2, 5, 3, 1], nn)], queries: fives(8) },
    ]);
    expect(tie[0]).toMatch(
      /^mnist 5-way 1-shot: no detectable difference between LoRA Recycle and NN \(LoRA Recycle − NN \+0\.00 ± [\d.]+ points, paired over 8 episodes\)\.$/,
    );
  });

  it('leaves the pre-registered block to the headline', () => {
    const nn = [3, 5, 1, 4];
    const block = { set: 'emoji-novel', shots: 1, rows: [scored('nn', nn), scored('lora-recycle', nn, nn)], queries: fives(4) };
    expect(verdicts([block], { set: 'emoji-novel', shots: 1 }).some((l) => l.includes('LoRA Recycle −'))).toBe(false);
    expect(verdicts([block], { set: 'emoji-novel', shots: 5 }).some((l) => l.includes('LoRA Recycle −'))).toBe(true);
  });

  it('names a best method only where its paired differences against every other row exclude 0', () => {
    const nn = [2, 3, 2, 3, 2, 3];
    const probe = [4, 5, 4, 5, 4, 5]; // two queries above NN on every episode
    const recycle = [3, 4, 3, 3, 2, 4];
    const clear = bestMethodStatement(
      {
        set: 's',
        shots: 1,
        rows: [scored('nn', nn), scored('linear-probe', probe, nn), scored('lora-recycle', recycle, nn)],
        queries: fives(6),
      },
      's 5-way 1-shot',
    );
    expect(clear).toMatch(
      /^s 5-way 1-shot: linear-probe is better than every other method on paired differences \(closest: − lora-recycle \+[\d.]+ ± [\d.]+ points\)\.$/,
    );
    // a row on fewer episodes (fine-tuning baselines) pairs on the first ones; one episode has no interval, so no verdict
    const short = bestMethodStatement(
      { set: 's', shots: 1, rows: [scored('nn', nn), scored('lora-linear', [5], nn)], queries: fives(6) },
      's 5-way 1-shot',
    );
    expect(short).toMatch(
      /^s 5-way 1-shot: no method is better than every other; the highest mean, lora-linear 100\.00 \(n = 1\) %, is not separated from nn \(\+60\.00 \(n = 1, no interval\) points\)\.$/,
    );
    // rows without per-episode accuracies (older reports): no ranking at all
    expect(bestMethodStatement({ set: 's', shots: 1, rows: [row('nn', 0.5, 0.02), row('lora-recycle', 0.6, 0.01)] }, 's')).toBeNull();
  });

  it('says what n = 1 cannot support', () => {
    expect(pairedWords('LoRA Recycle', 'NN', { mean: 0.2, ci95: null, n: 1 })).toBe(
      'one episode: no interval, so no verdict on LoRA Recycle against NN',
    );
  });

  it('renders every table row in markdown', () => {
    const report: ReproductionReport = {
      ...bareReport(),
      table23: [{ set: 'emoji-novel', shots: 1, rows: [row('nn', 0.5, 0.02)] }],
      table45: [
        {
          label: 'last layer 50 %',
          pruning: { 3: 0.5 },
          accuracy: { mean: 0.4, ci95: 0.01, n: 50 },
          inversionIterationsPerSecond: 3,
          metaEpisodesPerSecond: 5,
          tokensKept: 32,
          patchCount: 64,
        },
      ],
      diagnostics: { ...bareReport().diagnostics, learningCurve: [{ step: 10, loss: 1, accuracy: 0.5 }] },
      statements: ['x'],
      notes: ['y'],
    };
    const md = renderMarkdown(report);
    expect(md).toContain('| nn | 50.00 ± 2.00 |  | 50 | 1.0 |');
    expect(md).toContain('| last layer 50 % | 40.00 ± 1.00 | 3.00 | 5.00 | 32.0 / 64 |');
    expect(md).toContain('| 10 | 1.0000 | 50.0 |');
    expect(md).not.toContain('Zoo LoRAs on their own');
    expect(md).toContain('## Exploratory comparisons (1 verdicts)');
    const withHeadline = renderMarkdown({
      ...report,
      headlineStatement: 'No detectable difference between LoRA Recycle and NN.',
      headline: {
        set: 'emoji-novel',
        ways: 5,
        shots: 1,
        recycleMinusNn: { mean: 0.21, ci95: 0.21 },
        preregistered: 'the "quick" profile names it',
      },
    });
    expect(withHeadline).toContain(
      '## Headline (pre-registered)\n\nLoRA Recycle − NN on emoji-novel 5-way 1-shot, paired over the same episodes: **+0.21 ± 0.21 points**. No detectable difference between LoRA Recycle and NN.\n\nNamed before the run: the "quick" profile names it.',
    );
    const withZoo = renderMarkdown({
      ...report,
      diagnostics: {
        ...report.diagnostics,
        zooKnowledge: { loras: 40, heldOut: 0.52, nnHeldOut: 0.56, difference: { mean: -0.04, ci95: 0.03, n: 40 } },
        selectedValidation: { nn: 0.44, bySource: { oracle: 0.46, noise: null } },
      },
    });
    expect(withZoo).toContain(
      "- Zoo LoRAs on their own tasks' held-out images: LoRA + head 52.0 %, NN (frozen backbone prototypes of the same training images) 56.0 %; LoRA − NN -4.00 ± 3.00 points, paired over 40 LoRAs.",
    );
    expect(withZoo).toContain('NN 44.00 %, oracle 46.00 %, noise n/a.');
    const unpruned = renderMarkdown({
      ...report,
      settings: { metaTraining: { patience: 3 } },
      table45: [],
      diagnostics: { ...report.diagnostics, stepsBySource: { 'lora-recycle': 1000, noise: 400 } },
    });
    expect(unpruned).toContain('## Table 4/5 analogue: token pruning during inversion\n\nNot measured by this profile');
    expect(unpruned).not.toContain('| pruning |');
    expect(unpruned).toContain(
      '- Steps trained per meta-LoRA (each ends after 3 validations without a new best, metaTraining.patience): lora-recycle 1000, noise 400.',
    );
    expect(md).not.toContain('Steps trained per meta-LoRA');
  });

  it('says what a run takes from scratch when it found its zoo in the run folder', () => {
    const report: ReproductionReport = {
      ...bareReport(),
      seconds: 3000,
      stageSeconds: { backbone: 1, zoo: 4, inversion: 2000 },
      zooTuningSeconds: 1430,
    };
    expect(renderMarkdown(report)).toContain(
      'Wall time per stage: backbone 1 s, zoo 4 s, inversion 2000 s. The zoo was found in the run folder: tuning its LoRAs took 1430 s when it was built (their records in zoo.json), so this run from scratch takes about 4426 s.',
    );
    const built = renderMarkdown({ ...report, stageSeconds: { ...report.stageSeconds, zoo: 1434 } });
    expect(built).toContain('Wall time per stage: backbone 1 s, zoo 1434 s, inversion 2000 s.\n');
    expect(built).not.toContain('found in the run folder');
    expect(checkReportShape(JSON.parse(reportJson(report)), 'r.json').zooTuningSeconds).toBe(1430);
    expect(() => checkReportShape({ ...report, zooTuningSeconds: 'long' }, 'r.json')).toThrow(/zooTuningSeconds must be a number/);
  });

  it("says how often each source's images read as their class by their ink", () => {
    const report: ReproductionReport = {
      ...bareReport(),
      diagnostics: { ...bareReport().diagnostics, inkMatchBySource: { 'lora-recycle': 0.2567, oracle: 0.96, noise: 0.2 } },
    };
    expect(renderMarkdown(report)).toMatch(
      /- Do the images read as their class\? .*: lora-recycle 25\.7 %, oracle 96\.0 %, noise 20\.0 % \(oracle: the real images, each left out of its own class\)\./,
    );
    expect(renderMarkdown(bareReport())).not.toContain('read as their class');
  });

  it("says on which CPU the run ran and where the machine's CPU time went", () => {
    const report: ReproductionReport = {
      ...bareReport(),
      machine: { cpus: 2, cpuModel: 'AMD EPYC', backend: 'tensorflow', node: 'v20' },
      cpu: { processCores: 1.52, otherProcessesShare: 0.031, stealShare: 0.2 },
    };
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('100 s wall time on 2 CPU cores (AMD EPYC), backend tensorflow');
    expect(markdown).toContain(
      "CPU: this run kept 1.52 of the 2 cores busy on average; other processes took 3 % of the machine's CPU time and the hypervisor 20 % (steal).",
    );
    expect(renderMarkdown({ ...report, cpu: { processCores: 1, otherProcessesShare: null, stealShare: null } })).toContain(
      'the machine-wide shares are unknown here (no /proc/stat)',
    );
    expect(checkReportShape(JSON.parse(reportJson(report)), 'r.json').cpu).toEqual(report.cpu);
    expect(() => checkReportShape({ ...report, cpu: { ...report.cpu, stealShare: 1.5 } }, 'r.json')).toThrow(
      /cpu.stealShare must be a share between 0 and 1, or null/,
    );
  });
});

describe('diagnostics', () => {
  it('measures within- and between-class cosine distances', () => {
    const f = tf.tensor2d([
      [1, 0],
      [1, 0],
      [0, 1],
      [0, 1],
    ]);
    expect(featureDiversity(f, [0, 0, 1, 1])).toEqual({ withinClass: 0, betweenClass: 1 });
  });

  it('averages a learning curve into windows', () => {
    const h = [1, 2, 3, 4, 5, 6].map((step) => ({ step, loss: step }));
    expect(windowedCurve(h, ['loss'], 3)).toEqual([
      { step: 2, loss: 1.5 },
      { step: 4, loss: 3.5 },
      { step: 6, loss: 5.5 },
    ]);
  });
});

describe('run configurations', () => {
  it('ships valid tiny and paper-scale configurations', () => {
    expect(loadRunConfig('configs/tiny.json').data.imageSize).toBe(32);
    const paper = loadRunConfig('configs/paper-scale.json');
    expect(paper.backbone.source).toBe('hf');
    expect(paper.inversion.steps).toBe(2000);
    expect(paper.zoo.size).toBe(100);
  });

  it('names the invalid field', () => {
    const bad = { ...loadRunConfig('configs/tiny.json') };
    bad.metaTraining = { ...bad.metaTraining, steps: 0 };
    expect(() => validateRunConfig(bad)).toThrow(new ConfigError('configuration: metaTraining.steps must be a positive integer, found 0'));
  });
});
