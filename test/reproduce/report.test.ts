import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { featureDiversity, windowedCurve } from '../../src/reproduce/diagnostics';
import { renderMarkdown, verdicts, type ReproductionReport } from '../../src/reproduce/report';
import { loadRunConfig, validateRunConfig } from '../../src/reproduce/config';
import { ConfigError } from '../../src/errors';
import { useTestBackend } from '../test-backend';

beforeAll(async () => { await useTestBackend('cpu'); });

const row = (method: string, mean: number, ci95: number) => ({ method, mean, ci95, n: 50, seconds: 1 });

describe('reproduction report', () => {
  it('states honestly whether LoRA Recycle beats NN, counting overlapping intervals as undecided', () => {
    const lines = verdicts([
      { set: 'emoji-novel', shots: 1, rows: [row('nn', 0.5, 0.02), row('lora-recycle', 0.45, 0.01), row('linear-probe', 0.52, 0.02)] },
      { set: 'mnist', shots: 5, rows: [row('nn', 0.5, 0.05), row('lora-recycle', 0.52, 0.05)] },
    ]);
    expect(lines[0]).toBe('emoji-novel 5-way 1-shot: LoRA Recycle 45.00 ± 1.00 loses to NN 50.00 ± 2.00 (-5.00 points).');
    expect(lines[1]).toBe('emoji-novel 5-way 1-shot: best method is linear-probe at 52.00 ± 2.00.');
    expect(lines[2]).toMatch(/LoRA Recycle 52.00 ± 5.00 is above \(intervals overlap\) NN/);
  });

  it('renders every table row in markdown', () => {
    const report: ReproductionReport = {
      profile: 'quick', startedAt: '2026-01-01T00:00:00Z', seconds: 100, machine: { cpus: 2, backend: 'wasm', node: 'v20' }, settings: {},
      table23: [{ set: 'emoji-novel', shots: 1, rows: [row('nn', 0.5, 0.02)] }],
      table45: [{ label: 'last layer 50 %', pruning: { 3: 0.5 }, accuracy: { mean: 0.4, ci95: 0.01, n: 50 }, inversionIterationsPerSecond: 3, metaEpisodesPerSecond: 5, tokensKept: 32, patchCount: 64 }],
      diagnostics: { targetConfidence: { mean: 0.9, min: 0.5, max: 1 }, surrogateDiversity: { withinClass: 0.1, betweenClass: 0.3 }, learningCurve: [{ step: 10, loss: 1, accuracy: 0.5 }], validation: [], bestStep: null },
      statements: ['x'], notes: ['y'],
    };
    const md = renderMarkdown(report);
    expect(md).toContain('| nn | 50.00 ± 2.00 |  | 50 | 1.0 |');
    expect(md).toContain('| last layer 50 % | 40.00 ± 1.00 | 3.00 | 5.00 | 32.0 / 64 |');
    expect(md).toContain('| 10 | 1.0000 | 50.0 |');
    expect(md).not.toContain('Zoo LoRAs on their own');
    const withZoo = renderMarkdown({
      ...report,
      diagnostics: {
        ...report.diagnostics,
        zooKnowledge: { loras: 40, heldOut: 0.52, nnHeldOut: 0.56, difference: { mean: -0.04, ci95: 0.03, n: 40 } },
        selectedValidation: { nn: 0.44, bySource: { oracle: 0.46, noise: null } },
      },
    });
    expect(withZoo).toContain('- Zoo LoRAs on their own tasks\' held-out images: LoRA + head 52.0 %, NN (frozen backbone prototypes of the same training images) 56.0 %; LoRA − NN -4.00 ± 3.00 points, paired over 40 LoRAs.');
    expect(withZoo).toContain('NN 44.00 %, oracle 46.00 %, noise n/a.');
  });
});

describe('diagnostics', () => {
  it('measures within- and between-class cosine distances', () => {
    const f = tf.tensor2d([[1, 0], [1, 0], [0, 1], [0, 1]]);
    expect(featureDiversity(f, [0, 0, 1, 1])).toEqual({ withinClass: 0, betweenClass: 1 });
  });

  it('averages a learning curve into windows', () => {
    const h = [1, 2, 3, 4, 5, 6].map((step) => ({ step, loss: step }));
    expect(windowedCurve(h, ['loss'], 3)).toEqual([{ step: 2, loss: 1.5 }, { step: 4, loss: 3.5 }, { step: 6, loss: 5.5 }]);
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
