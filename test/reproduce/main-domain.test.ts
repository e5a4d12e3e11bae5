import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors';
import { meanWithInterval, pairedDifference } from '../../src/evaluation';
import { loadRunConfig, validateRunConfig, type RunConfig } from '../../src/reproduce/config';
import { median } from '../../src/reproduce/diagnostics';
import { evaluateGates, gateLine, type GateInputs } from '../../src/reproduce/gates';
import { mainSets, mainSpec } from '../../src/reproduce/main-set';
import { headlineFor, profileFor } from '../../src/reproduce/profiles';
import { renderMarkdown, type ReproductionReport, type Table23Block } from '../../src/reproduce/report';
import { defaultConfigPath, PROFILE_DEFAULTS, reportName } from '../../src/reproduce/reproduce';

const tiny = loadRunConfig('configs/tiny.json');
const domainB = loadRunConfig('configs/glyph-domain.json');

describe('the main domain of a run configuration', () => {
  it('is emoji unless data.main names another; its episode sets, headline and report name follow it', () => {
    expect(mainSpec(tiny)).toEqual({ loader: 'emoji', size: 32 });
    expect(mainSets(tiny)).toEqual({ validation: 'emoji-validation', novel: 'emoji-novel' });
    expect(headlineFor(tiny)).toEqual({ set: 'emoji-novel', shots: 1 });
    expect(reportName('quick', tiny)).toBe('quick');
    expect(reportName('standard', tiny)).toBe('standard-emoji');

    expect(mainSpec(domainB)).toEqual({ loader: 'glyph-domain', size: 32 });
    expect(mainSets(domainB)).toEqual({ validation: 'glyph-domain-validation', novel: 'glyph-domain-novel' });
    expect(reportName('standard', domainB)).toBe('standard');
    expect(reportName('quick', domainB)).toBe('quick-glyph-domain');
    const standard = profileFor('standard', domainB);
    expect(standard.headline).toEqual({ set: 'glyph-domain-novel', shots: 1 });
    expect(standard.crossDomainSets).toEqual([]); // every evaluation set but the headline's: none here
    expect(standard.tunesOn('glyph-domain-novel', 1)).toBe(true);
    expect(standard.tunesOn('glyph-domain-novel', 5)).toBe(false);
  });

  it("runs each profile on its default configuration, in its default domain, under the profile's own report name", () => {
    for (const [profile, { domain }] of Object.entries(PROFILE_DEFAULTS)) {
      const config = loadRunConfig(defaultConfigPath(profile));
      expect(mainSpec(config).loader).toBe(domain);
      expect(reportName(profile, config)).toBe(profile);
    }
    expect(PROFILE_DEFAULTS.standard.config).toBe('glyph-domain.json'); // the project's measured report is domain B's
  });

  it("domain B's configuration: the emoji-only backbone, teachers on 20 renderings per class (all but the 4 held out), a rank-8 meta-LoRA on all six projections, no flips", () => {
    expect(domainB.backbone).toEqual({ source: 'shipped', name: 'emoji-only' });
    expect(domainB.zoo).toMatchObject({ shots: 20, heldOut: 4 });
    expect(domainB.metaTraining).toMatchObject({ rank: 8, targets: ['q', 'k', 'v', 'o', 'fc1', 'fc2'], flip: false });
    expect(domainB.choicesAfterNovel?.[0]).toMatch(/rank 8 on q, k, v, o, fc1 and fc2/);
  });

  it('rejects a main data set without base, validation and novel splits, an unknown backbone, bad meta-LoRA settings', () => {
    const withChange = (change: (c: RunConfig) => void) => {
      const config = structuredClone(tiny);
      change(config);
      return () => validateRunConfig(config);
    };
    expect(
      withChange((c) => {
        c.data.main = { loader: 'mnist' };
      }),
    ).toThrow(
      new ConfigError(
        'configuration: data.main.loader must be one of emoji, glyph-domain, folder (a data set with base, validation and novel splits), found "mnist"',
      ),
    );
    expect(
      withChange((c) => {
        c.backbone = { source: 'shipped', name: 'nope' as never };
      }),
    ).toThrow(/backbone.name must be one of default, emoji-only, found "nope"/);
    expect(
      withChange((c) => {
        c.metaTraining.rank = 0;
      }),
    ).toThrow(/metaTraining.rank must be a positive integer/);
    expect(
      withChange((c) => {
        c.metaTraining.targets = ['q', 'x' as never];
      }),
    ).toThrow(/metaTraining.targets must be a non-empty list of q, k, v, o, fc1, fc2/);
    expect(
      withChange((c) => {
        c.zoo.heldOut = 1.5;
      }),
    ).toThrow(/zoo.heldOut must be a positive integer/);
    expect(
      withChange((c) => {
        c.inversion.diversityWeight = -1;
      }),
    ).toThrow(/inversion.diversityWeight must be a finite number ≥ 0, found -1/);
    expect(
      withChange((c) => {
        c.inversion.unadaptedWeight = Number.POSITIVE_INFINITY;
      }),
    ).toThrow(/inversion.unadaptedWeight must be a finite number ≥ 0/);
    expect(
      withChange((c) => {
        c.inversion.parameterSide = c.data.imageSize + 1;
      }),
    ).toThrow(/inversion.parameterSide must be an integer in 2\.\.\d+ \(data.imageSize\), found \d+/);
    expect(
      withChange((c) => {
        c.inversion.strokes = 2.5;
      }),
    ).toThrow(/inversion.strokes must be a non-negative integer, found 2.5/);
    expect(
      withChange((c) => {
        c.inversion.strokes = 8;
        c.inversion.maxStrokeWidth = 20;
      }),
    ).toThrow(/inversion.maxStrokeWidth must be in \[0.5, 16\] pixels of a 32-pixel side, found 20/);
    expect(
      withChange((c) => {
        c.inversion.strokes = 0;
        c.inversion.maxStrokeWidth = 1.5;
      }),
    ).toThrow(/inversion.maxStrokeWidth sets the strokes' widths; it needs inversion.strokes > 0/);
    expect(
      withChange((c) => {
        c.inversion.strokes = 0;
        c.inversion.strokeSegments = 2;
      }),
    ).toThrow(/inversion.strokeSegments shapes the strokes; it needs inversion.strokes > 0/);
    expect(
      withChange((c) => {
        c.inversion.strokes = 2;
        c.inversion.strokeSegments = 1.5;
      }),
    ).toThrow(/inversion.strokeSegments must be an integer in 1\.\.8, found 1.5/);
    expect(
      withChange((c) => {
        c.inversion.inkWeight = -0.5;
      }),
    ).toThrow(/inversion.inkWeight must be a finite number ≥ 0, found -0.5/);
    expect(
      withChange((c) => {
        c.inversion.strokes = 8;
        c.inversion.parameterSide = 16;
      }),
    ).toThrow(/inversion.parameterSide sets the grid of free pixels; it does not apply with inversion.strokes \(8\)/);
    expect(
      withChange((c) => {
        c.inversion.flip = 'no' as never;
      }),
    ).toThrow(/inversion.flip must be true or false, found "no"/);
    expect(
      withChange((c) => {
        c.zoo.targets = [];
      }),
    ).toThrow(/zoo.targets must be a non-empty list/);
    expect(
      withChange((c) => {
        c.zoo.augment = { maxRotation: 0.1, blur: 1 } as never;
      }),
    ).toThrow(/zoo.augment has unknown fields blur; expected maxShift, scale, maxShear, maxRotation, maxStroke/);
    expect(
      withChange((c) => {
        c.zoo.augment = { scale: [0.5] as never };
      }),
    ).toThrow(/zoo.augment.scale must be a range \[low, high\] with 0 < low ≤ high, found \[0.5\]/);
    expect(
      withChange((c) => {
        c.zoo.augment = true as never;
      }),
    ).toThrow(/zoo.augment must be an object/);
    expect(
      withChange((c) => {
        c.zoo.augment = { maxStroke: 0.2 };
      }),
    ).not.toThrow();
    expect(
      withChange((c) => {
        c.inversion.jitterCopies = 9;
      }),
    ).toThrow(/inversion.jitterCopies must be an integer in 1..8, found 9/);
    expect(
      withChange((c) => {
        c.inversion.generator = 'gan' as never;
      }),
    ).toThrow(/inversion.generator must be one of glyph-vae, found "gan"/);
    expect(
      withChange((c) => {
        c.inversion.generator = 'glyph-vae';
        c.inversion.strokes = 8;
      }),
    ).toThrow(/inversion.generator draws the images; inversion.strokes and inversion.parameterSide do not apply with it/);
    expect(
      withChange((c) => {
        c.zoo.adversarial = { epsilon: -1, steps: 3 };
      }),
    ).toThrow(/zoo.adversarial.epsilon must be a finite number > 0, found -1/);
    expect(
      withChange((c) => {
        c.zoo.adversarial = true as never;
      }),
    ).toThrow(/zoo.adversarial must be an object \{ epsilon, steps \}, found true/);
    expect(
      withChange((c) => {
        c.zoo.headInit = 'means' as never;
      }),
    ).toThrow(/zoo.headInit must be "random" or "prototypes", found "means"/);
    expect(
      withChange((c) => {
        c.metaTraining.patience = 1.5;
      }),
    ).toThrow(/metaTraining.patience must be a positive integer, found 1.5/);
    expect(
      withChange((c) => {
        c.choicesAfterNovel = [''];
      }),
    ).toThrow(/choicesAfterNovel must be a list of sentences/);
  });
});

describe('profile caps', () => {
  it("cap a configuration's budgets and leave smaller ones as they are", () => {
    const quick = profileFor('quick', tiny).config;
    expect([quick.zoo.size, quick.zoo.steps, quick.metaTraining.steps, quick.evaluation.episodes]).toEqual([5, 20, 60, 30]);
    const standard = profileFor('standard', domainB).config;
    expect([standard.zoo.size, standard.zoo.steps, standard.zoo.shots, standard.metaTraining.steps, standard.inversion.queries]).toEqual([
      40, 40, 20, 1000, 5,
    ]);
    // 100 steps on 8 strokes of σ ≤ 0.75 pixels each, at the configuration's lr
    expect([
      standard.inversion.steps,
      standard.inversion.learningRate,
      standard.inversion.strokes,
      standard.inversion.maxStrokeWidth,
    ]).toEqual([100, 0.01, 8, 0.75]);
    expect([standard.metaTraining.patience, standard.baselines.episodes]).toEqual([3, 50]); // the patience is the configuration's, not a cap
    expect(profileFor('standard', domainB).ablationPruning(4)).toBeNull(); // no pruned inversion within the hour
    expect(standard.baselines.learningRate).toBe(1e-2); // the standard profile's one fixed value, not a cap
    const small = structuredClone(tiny);
    small.zoo.size = 2;
    small.metaTraining.steps = 3;
    const kept = profileFor('standard', small).config;
    expect([kept.zoo.size, kept.metaTraining.steps]).toEqual([2, 3]);
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });
});

/** A headline block whose rows have the given per-episode accuracies (5 queries an episode). */
function block(accuracies: Record<string, number[]>): Table23Block {
  const nn = accuracies.nn;
  const rows = Object.entries(accuracies).map(([method, a]) => ({
    method,
    ...meanWithInterval(a),
    seconds: 1,
    ...(method === 'nn' ? {} : { vsNn: pairedDifference(a, nn) }),
  }));
  return {
    set: 'glyph-domain-novel',
    shots: 1,
    rows,
    paired: { 'lora-recycle − noise': pairedDifference(accuracies['lora-recycle'], accuracies.noise) },
  };
}

const knowledge = (lora: number[], nn: number[]) => ({
  loras: lora.length,
  heldOut: meanWithInterval(lora).mean,
  nnHeldOut: meanWithInterval(nn).mean,
  difference: pairedDifference(lora, nn),
});

describe('the gates', () => {
  const nn = [0.4, 0.6, 0.4, 0.6, 0.4, 0.6];
  const plus = (d: number, jitter = 0.02) => nn.map((a, i) => a + d + (i % 2 ? jitter : -jitter));
  const passing: GateInputs = {
    zooKnowledge: knowledge([0.9, 0.92, 0.88, 0.94], [0.7, 0.75, 0.72, 0.78]),
    headlineBlock: block({ nn, 'uniform-nn': plus(0.01), 'lora-recycle': plus(0.06), oracle: plus(0.1), noise: plus(0.0) }),
    medianTargetConfidence: 0.95,
    withinClassDiversity: 0.3,
    realWithinClassDiversity: 0.5,
  };

  it('pass where every criterion holds, with the measured values', () => {
    const gates = evaluateGates(passing);
    expect(gates.map((g) => [g.name, g.passed])).toEqual([
      ['teachers', true],
      ['oracle', true],
      ['inversion', true],
      ['headline', true],
    ]);
    expect(gates[0].criteria[0].value).toBeCloseTo(17.25, 10);
    expect(gates[2].criteria[1].value).toBeCloseTo(0.6, 10);
    expect(gates[3].criteria[2].value).toBeCloseTo(0.6, 10); // 6 of the oracle's 10 points
    expect(gateLine(gates[0])).toMatch(/^\*\*teachers: passed\*\*: LoRA − NN on own held-out images/);
  });

  it("fail on each threshold, at the threshold's edge", () => {
    const weakTeachers = evaluateGates({ ...passing, zooKnowledge: knowledge([0.84, 0.84, 0.84, 0.84], [0.7, 0.7, 0.7, 0.7]) });
    expect(weakTeachers[0].passed).toBe(false); // held-out 84 % < 85 %, though +14 points
    expect(weakTeachers[0].criteria.map((c) => c.passed)).toEqual([true, false]);
    const smallOracle = evaluateGates({
      ...passing,
      headlineBlock: block({ nn, 'uniform-nn': plus(0.01), 'lora-recycle': plus(0.03), oracle: plus(0.045), noise: plus(0) }),
    });
    expect(smallOracle[1].passed).toBe(false); // +4.5 < +5
    expect(smallOracle[3].criteria[0].passed).toBe(true); // +3 is enough for the headline's own criterion
    const unordered = evaluateGates({
      ...passing,
      headlineBlock: block({ nn, 'uniform-nn': plus(0.07), 'lora-recycle': plus(0.06), oracle: plus(0.1), noise: plus(0) }),
    });
    expect(unordered[3].criteria[3]).toMatchObject({ value: 0, passed: false });
    const collapsed = evaluateGates({ ...passing, medianTargetConfidence: 0.89, withinClassDiversity: 0.2 });
    expect(collapsed[2].criteria.map((c) => c.passed)).toEqual([false, false, true]);
    expect(collapsed[2].criteria[1].value).toBeCloseTo(0.4, 10); // 0.2 of real's 0.5, under half
  });

  it('say "not measured" where the run has no such row', () => {
    const { oracle: _oracle, ...withoutOracle } = Object.fromEntries(passing.headlineBlock!.rows.map((r) => [r.method, r]));
    const gates = evaluateGates({
      ...passing,
      zooKnowledge: null,
      headlineBlock: { ...passing.headlineBlock!, rows: Object.values(withoutOracle) },
    });
    expect(gates.map((g) => g.passed)).toEqual([null, null, true, null]);
    expect(gateLine(gates[0])).toContain('teachers: not measured');
  });

  it('render as a section of the report', () => {
    const report = {
      profile: 'standard',
      name: 'standard-emoji',
      command: 'npm run reproduce -- --profile standard --config configs/tiny.json',
      startedAt: '2026-12-06T00:00:00Z',
      seconds: 1,
      machine: { cpus: 2, backend: 'cpu', node: 'v22' },
      settings: {},
      gates: evaluateGates(passing),
      besideHeadline: ['glyph-domain-novel 5-way 5-shot: LoRA Recycle − NN +1.00 ± 0.50 points'],
      table23: [],
      table45: [],
      statements: [],
      notes: [],
      diagnostics: {
        targetConfidence: { mean: 0.9, min: 0, max: 1 },
        surrogateDiversity: { withinClass: 0.3, betweenClass: 0.4 },
        learningCurve: [],
        validation: [],
        bestStep: null,
      },
    } satisfies ReproductionReport;
    const md = renderMarkdown(report);
    expect(md).toContain(
      'Written by `npm run reproduce -- --profile standard --config configs/tiny.json` with this JSON beside it (`standard-emoji.json`',
    );
    expect(md).toContain('## Gates (docs/method.md §0)');
    expect(md).toContain('- **headline: passed**');
    expect(md).toContain('Beside it, not pre-registered: glyph-domain-novel 5-way 5-shot');
  });
});
