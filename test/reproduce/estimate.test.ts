import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileFormatError, MissingResourceError } from '../../src/errors';
import type { RunConfig } from '../../src/reproduce/config';
import { estimateRunTime } from '../../src/reproduce/estimate';
import { renderEstimateMarkdown, writeEstimate } from '../../src/reproduce/estimate-report';
import { profileFor, profileSettings } from '../../src/reproduce/profiles';
import type { MethodRow, PruningRow, ReproductionReport } from '../../src/reproduce/report';
import { readReproductionReport } from '../../src/reproduce/report-file';

// A configuration whose quick profile (the caps of profiles.ts) is easy to follow by hand:
// quick inverts 5 LoRAs × 30 steps of 2 × (1 + 5) = 12 images, full 10 × 60 steps of 2 × (1 + 9) = 20;
// meta-training 60 → 120 steps of 12 → 20 images, 2 validations of 10 episodes in both;
// evaluation 30 → 60 episodes of 12 → 20 images (tuned methods 5 → 10 episodes, 5 → 10 tuning steps).
const BASE: RunConfig = {
  name: 'estimate-test',
  backbone: { source: 'shipped' },
  data: { imageSize: 32 },
  zoo: { size: 10, ways: 2, shots: 1, steps: 40, learningRate: 0.001, rank: 2 },
  inversion: { steps: 60, shots: 1, queries: 9, learningRate: 0.25, priorWeight: 0.01, pruning: {}, pruneStartFraction: 0.25 },
  metaTraining: {
    steps: 120,
    shots: 1,
    queries: 9,
    interpolatedFraction: 0.5,
    distance: 'euclidean',
    validateEvery: 60,
    checkpointEvery: 60,
    validationEpisodes: 10,
    flip: true,
  },
  evaluation: { episodes: 60, ways: 2, shots: [1], queries: 9, sets: ['emoji-novel'], seed: 1 },
  baselines: {
    methods: ['nn', 'lora-recycle', 'lora-linear'],
    episodes: 10,
    tuningSteps: 10,
    learningRate: 0.001,
    fullTuningSteps: 10,
    fullLearningRate: 0.0001,
  },
};
const DEPTH = 2;
const quickProfile = profileFor('quick', BASE);
const fullProfile = profileFor('full', BASE);

const method = (name: string, n: number, seconds: number): MethodRow => ({ method: name, mean: 0.5, ci95: 0.1, n, seconds });
const pruningRow = (
  label: string,
  pruning: Record<string, number>,
  inversionIterationsPerSecond: number,
  metaEpisodesPerSecond: number,
): PruningRow => ({
  label,
  pruning,
  accuracy: { mean: 0.5, ci95: 0.1, n: 15 },
  inversionIterationsPerSecond,
  metaEpisodesPerSecond,
  tokensKept: 4,
  patchCount: 4,
});

/**
 * Measured: inversion 0.6 s per step unpruned, 0.9 s at 50 %; meta-training 0.6 s per episode
 * unpruned, 0.3 s at 50 %; nn 0.12 s, LoRA Recycle 0.24 s, LoRA + linear 0.42 s per episode.
 */
function quickReport(overrides: Partial<ReproductionReport> = {}): ReproductionReport {
  return {
    profile: 'quick',
    startedAt: '2026-01-01T00:00:00.000Z',
    seconds: 332.5,
    machine: { cpus: 2, backend: 'wasm', node: 'v20' },
    settings: profileSettings(quickProfile, DEPTH),
    table23: [
      { set: 'emoji-novel', shots: 1, rows: [method('nn', 30, 3.6), method('lora-recycle', 30, 7.2), method('lora-linear', 5, 2.1)] },
    ],
    table45: [
      pruningRow('none', {}, 5 / 3, 5 / 3),
      pruningRow('layer 1 (last) 50 %', { 1: 0.5 }, 10 / 9, 10 / 3),
      pruningRow('layer 0 50 %', { 0: 0.5 }, 10 / 9, 10 / 3),
    ],
    diagnostics: {
      targetConfidence: { mean: 1, min: 1, max: 1 },
      surrogateDiversity: { withinClass: 0, betweenClass: 0 },
      learningCurve: [],
      validation: [],
      bestStep: null,
    },
    statements: [],
    notes: [],
    ...overrides,
  };
}

const secondsOf = (estimate: ReturnType<typeof estimateRunTime>) => Object.fromEntries(estimate.stages.map((s) => [s.stage, s.seconds]));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'estimate-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('estimateRunTime', () => {
  it("scales every measured unit cost by the full profile's units (hand-computed)", () => {
    const estimate = estimateRunTime(quickReport(), quickProfile, fullProfile);
    // Full per-step costs at 20 images: inversion 0.6 · 20/12 = 1.0 s (1 + r at pruning ratio r),
    // meta-training 1.0 s (1 − r), nn 0.2 s, LoRA Recycle 0.4 s, LoRA + linear 0.2 + (0.42 − 0.12) · 10/5 = 0.8 s.
    // Quick modelled: inversion 90 + meta 36 + validation 4.8 + evaluation 12.9 + pruning 51.6 + 2 · 63.6 = 322.5 s,
    // so 332.5 − 322.5 = 10 s are charged to the zoo: 10 / (5 · 20) · (10 · 40) = 40 s.
    const pruningRowSeconds = (r: number) => 20 * 60 * (1 + r) + 500 * (1 - r) + 200 * 0.4;
    const expected = {
      zoo: 40,
      inversion: 10 * 60 * 1.0, // 600
      'meta-training': 120 * 1.0 + 2 * 10 * 0.4, // 128
      evaluation: 60 * 0.2 + 60 * 0.4 + 10 * 0.8, // 44
      pruning: pruningRowSeconds(0) + 2 * (pruningRowSeconds(0.25) + pruningRowSeconds(0.5) + pruningRowSeconds(0.75)), // 1780 + 2 · 6390 = 14560
    };
    const got = secondsOf(estimate);
    expect(Object.keys(got)).toEqual(Object.keys(expected));
    for (const [stage, seconds] of Object.entries(expected)) expect(got[stage], stage).toBeCloseTo(seconds, 6);
    expect(estimate.totalSeconds).toBeCloseTo(15372, 6);
    // at the quick batches (12 images): 40 + 360 + 76.8 + 28.8 + 8736
    expect(estimate.lowerBoundSeconds).toBeCloseTo(9241.6, 6);
    expect(estimate.stages.find((s) => s.stage === 'pruning')!.parts.map((p) => p.label)).toEqual([
      'none',
      'layer 1 (last) 25 %',
      'layer 1 (last) 50 %',
      'layer 1 (last) 75 %',
      'layer 0 25 %',
      'layer 0 50 %',
      'layer 0 75 %',
    ]);
    expect(estimate.assumptions.join(' ')).toMatch(/10 s of its 333 s .* charged to zoo pre-tuning/);
  });

  it("uses the quick run's stage wall times when it has them: zoo by its steps, stages by wall / modelled, fixed stages as measured", () => {
    const stageSeconds = { backbone: 1, zoo: 5, inversion: 99, 'meta-training': 40.8, diagnostics: 2, evaluation: 12.9, pruning: 178.8 };
    const got = secondsOf(estimateRunTime(quickReport({ stageSeconds }), quickProfile, fullProfile));
    // zoo 5 / 100 · 400; inversion 600 · 99 / 90; the others measured as modelled; fixed 1 + 2
    const expected = { zoo: 20, inversion: 660, 'meta-training': 128, evaluation: 44, pruning: 14560, fixed: 3 };
    expect(Object.keys(got)).toEqual(Object.keys(expected));
    for (const [stage, seconds] of Object.entries(expected)) expect(got[stage], stage).toBeCloseTo(seconds, 6);
  });

  it('refuses a report of another profile, of other settings, or without the rates it needs', () => {
    expect(() => estimateRunTime(quickReport({ profile: 'full' }), quickProfile, fullProfile)).toThrow(FileFormatError);
    const otherSettings = { ...profileSettings(quickProfile, DEPTH), pruningLoras: 3 };
    expect(() => estimateRunTime(quickReport({ settings: otherSettings }), quickProfile, fullProfile)).toThrow(/settings differ/);
    const withoutDense = quickReport();
    withoutDense.table45 = withoutDense.table45.slice(1);
    expect(() => estimateRunTime(withoutDense, quickProfile, fullProfile)).toThrow(/no unpruned row/);
    const withoutNn = quickReport({
      table23: [{ set: 'emoji-novel', shots: 1, rows: [method('lora-recycle', 30, 7.2), method('lora-linear', 5, 2.1)] }],
    });
    expect(() => estimateRunTime(withoutNn, quickProfile, fullProfile)).toThrow(/no Table 2\/3 row of nn at 1-shot/);
    const stopped = quickReport();
    stopped.table45[0] = { ...stopped.table45[0], inversionIterationsPerSecond: 0 };
    expect(() => estimateRunTime(stopped, quickProfile, fullProfile)).toThrow(/none: inversion it\/s must be a positive rate/);
  });
});

describe('quick report file and estimate files', () => {
  it('names the missing report and what writes it', () => {
    expect(() => readReproductionReport(path.join(tmp, 'absent.json'))).toThrow(MissingResourceError);
    expect(() => readReproductionReport(path.join(tmp, 'absent.json'))).toThrow(/run the quick profile first/);
  });

  it('rejects a report that is not JSON or lacks a field the estimate reads, naming the field', () => {
    const broken = path.join(tmp, 'broken.json');
    fs.writeFileSync(broken, '{"profile": "quick", ');
    expect(() => readReproductionReport(broken)).toThrow(FileFormatError);
    const { table45: _dropped, ...withoutTable45 } = quickReport();
    const partial = path.join(tmp, 'partial.json');
    fs.writeFileSync(partial, JSON.stringify(withoutTable45));
    expect(() => readReproductionReport(partial)).toThrow(/table45 must be a list of objects/);
    const badRow = quickReport();
    const row = badRow.table23[0].rows[0] as unknown as Record<string, unknown>;
    row.seconds = 'slow';
    fs.writeFileSync(partial, JSON.stringify(badRow));
    expect(() => readReproductionReport(partial)).toThrow(/table23\[0\]\.rows\[0\]\.seconds must be a number/);
  });

  it('reads back a written report and writes the estimate as JSON and markdown', () => {
    const file = path.join(tmp, 'quick.json');
    fs.writeFileSync(file, JSON.stringify(quickReport()));
    const estimate = estimateRunTime(readReproductionReport(file), quickProfile, fullProfile);
    const written = writeEstimate(tmp, estimate);
    expect(written).toEqual({ json: path.join(tmp, 'full-estimate.json'), markdown: path.join(tmp, 'full-estimate.md') });
    expect(JSON.parse(fs.readFileSync(written.json, 'utf8')).totalSeconds).toBeCloseTo(15372, 6);
    const markdown = fs.readFileSync(written.markdown, 'utf8');
    expect(markdown).toBe(renderEstimateMarkdown(estimate));
    expect(markdown).toContain('**Total: 4.3 h (15372 s)**');
    expect(markdown).toContain('| inversion | 10 LoRAs × 60 steps × 20 images | 10 min | 3.9 % |');
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
