import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLoraFile } from '../../src/io/lora-file';
import { reproduce } from '../../src/reproduce/reproduce';
import { createPorts } from '../../src/reproduce/wiring';
import { microConfig } from './micro-config';
import { expectReportRecomputes } from './report-arithmetic';

// End to end on a micro profile: a random 2-block ViT at 32 px (patch 8), the real emoji and
// MNIST data, the shipped image prior, every method, the pruning rows. Budgets are tiny: this
// checks that the whole pipeline runs and reports, not what accuracy it reaches.
const MICRO = microConfig({
  zoo: { size: 3, steps: 4 },
  inversion: { steps: 6, pruning: { 1: 0.5 } },
  metaTraining: { steps: 6, validateEvery: 3, checkpointEvery: 3, validationEpisodes: 2 },
  evaluation: { episodes: 3, sets: ['emoji-novel', 'mnist'] },
  baselines: {
    methods: ['nn', 'uniform-nn', 'lora-recycle', 'linear-probe', 'lora-linear', 'learned-composition', 'clora', 'full-finetune'],
    tuningSteps: 2,
  },
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('reproduce (quick profile on a micro configuration)', () => {
  it('builds the zoo, inverts, meta-trains, evaluates every method and writes the report', async () => {
    const configPath = path.join(tmp, 'micro.json');
    fs.writeFileSync(configPath, JSON.stringify(MICRO));
    const outDir = path.join(tmp, 'reports');
    const before = tf.memory().numTensors;
    const phases: string[] = [];
    const ports = createPorts();
    const report = await reproduce('quick', ports, {
      configPath,
      outDir,
      workDir: path.join(tmp, 'work'),
      onEvent: (e) => {
        if (e.kind === 'phase' && e.run === 'reproduce') phases.push(e.phase);
      },
    });
    expect(phases.slice(0, 4)).toEqual(['backbone', 'zoo', 'inversion', 'meta-training']);
    expect(fs.readdirSync(path.join(tmp, 'work', 'zoo')).filter((f) => f.endsWith('.safetensors'))).toHaveLength(3);
    expect(report.table23.map((b) => `${b.set}/${b.shots}`)).toEqual(['emoji-novel/1', 'mnist/1']);
    const tuned = MICRO.baselines.methods.filter((m) => !['nn', 'uniform-nn', 'lora-recycle'].includes(m));
    for (const block of report.table23) {
      // the tuning-free rows and the ablation's meta-LoRAs first, then the fine-tuning baselines
      expect(block.rows.map((r) => r.method)).toEqual(['nn', 'uniform-nn', 'lora-recycle', 'oracle', 'noise', ...tuned]);
      // every row is paired with NN on the same episodes (fine-tuning rows on the first baselines.episodes)
      for (const row of block.rows.slice(1)) expect(row.vsNn?.n).toBe(row.n);
      expect(Object.keys(block.paired ?? {})).toEqual(['lora-recycle − noise', 'oracle − lora-recycle']);
    }
    expect(report.headline).toMatchObject({ set: 'emoji-novel', ways: 5, shots: 1 });
    // every row's accuracy, every paired difference, the headline and the verdicts, from the per-episode counts
    expectReportRecomputes(report);
    expectReportRecomputes(JSON.parse(fs.readFileSync(path.join(outDir, 'quick.json'), 'utf8')));
    // each meta-LoRA was selected on validation: the selected step is the first with the best validation accuracy
    const curve = report.diagnostics.validation;
    expect(curve.length).toBeGreaterThan(0);
    const bestAccuracy = Math.max(...curve.map((v) => v.accuracy));
    expect(report.diagnostics.bestStep).toBe(curve.find((v) => v.accuracy === bestAccuracy)!.step);
    // the oracle and noise meta-LoRAs went through the same meta-training (checkpoint, validation selection) as LoRA Recycle's
    for (const dir of ['meta', 'meta-oracle', 'meta-noise']) {
      expect(fs.existsSync(path.join(tmp, 'work', dir, 'meta-checkpoint.json'))).toBe(true);
      expect(fs.existsSync(path.join(tmp, 'work', dir, 'meta-lora.safetensors'))).toBe(true);
    }
    expect(Object.keys(report.diagnostics.bestStepBySource ?? {})).toEqual(['lora-recycle', 'oracle', 'noise']);
    expect(report.diagnostics.targetConfidenceBySource?.oracle.mean).toBeGreaterThan(0);
    expect(fs.readdirSync(path.join(tmp, 'work', 'surrogates', 'lora-recycle')).sort()).toEqual(
      fs
        .readdirSync(path.join(tmp, 'work', 'zoo'))
        .filter((f) => f.endsWith('.safetensors'))
        .map((f) => f.replace(/\.safetensors$/, ''))
        .sort(),
    );
    expect(fs.existsSync(path.join(outDir, 'quick-inversions.png'))).toBe(true);
    expect(report.table45.map((r) => r.label)).toEqual(['none', 'layer 1 (last) 50 %', 'layer 0 50 %']);
    const dense = report.table45[0];
    const pruned = report.table45[1];
    expect(dense.tokensKept).toBe(dense.patchCount);
    expect(pruned.tokensKept).toBe(dense.patchCount - Math.floor(0.5 * dense.patchCount));
    expect(report.diagnostics.targetConfidence.mean).toBeGreaterThan(0);
    expect(JSON.parse(fs.readFileSync(path.join(outDir, 'quick.json'), 'utf8')).profile).toBe('quick');
    expect(fs.readFileSync(path.join(outDir, 'quick.md'), 'utf8')).toMatch(/lora-recycle/);
    ports.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 600_000);
});

describe('reproduce in another main domain (data.main: glyph-domain)', () => {
  it("tunes the zoo on domain B's base classes, selects on its validation split, measures the headline and the gates on its novel split", async () => {
    const micro = microConfig({
      data: { main: { loader: 'glyph-domain' } },
      zoo: { shots: 3, heldOut: 2 },
      metaTraining: { rank: 3, targets: ['q', 'fc2'] },
      evaluation: { sets: ['glyph-domain-novel'] },
      baselines: { methods: ['nn', 'uniform-nn', 'lora-recycle'] },
    });
    const config = {
      ...micro,
      contrast: [{ label: 'emoji, split at random', file: 'reports/meta-headroom-emoji-random/meta-headroom.json' }],
    };
    const configPath = path.join(tmp, 'micro-b.json');
    fs.writeFileSync(configPath, JSON.stringify(config));
    const outDir = path.join(tmp, 'reports-b');
    const workDir = path.join(tmp, 'work-b');
    const before = tf.memory().numTensors;
    const ports = createPorts();
    const report = await reproduce('quick', ports, { configPath, outDir, workDir });
    const zoo = JSON.parse(fs.readFileSync(path.join(workDir, 'zoo', 'zoo.json'), 'utf8'));
    expect(zoo.recipe.dataset).toBe('glyph-domain-32:base');
    expect(zoo.entries[0].classIds.every((id: string) => id.startsWith('glyph:'))).toBe(true);
    expect(report.table23.map((b) => `${b.set}/${b.shots}`)).toEqual(['glyph-domain-novel/1']);
    expect(report.headline).toMatchObject({ set: 'glyph-domain-novel', ways: 5, shots: 1 });
    expect(report.notes.join(' ')).toContain('selected on the glyph-domain-validation episodes');
    expect(report.gates?.map((g) => g.name)).toEqual(['teachers', 'oracle', 'inversion', 'headline']);
    expect(report.gates?.[0].criteria[1].value).toBe(report.diagnostics.zooKnowledge?.heldOut);
    expect(report.diagnostics.medianTargetConfidence).toBeGreaterThan(0);
    // real glyphs read as their class by their ink far more often than the random strokes inversion starts from
    const ink = report.diagnostics.inkMatchBySource ?? {};
    expect(Object.keys(ink)).toEqual(['lora-recycle', 'oracle', 'noise']);
    expect(ink.oracle).toBeGreaterThan(ink.noise + 0.2);
    // the meta-LoRA has the configuration's rank and targets, not the zoo's
    const meta = loadLoraFile(path.join(workDir, 'meta', 'meta-lora.safetensors'));
    expect(meta.parameters.rank).toBe(3);
    expect([...new Set(meta.parameters.factors.map((f) => f.site.projection))].sort()).toEqual(['fc2', 'q']);
    tf.dispose(meta.parameters.factors.flatMap((f) => [f.a, f.b]));
    if (meta.head) tf.dispose([meta.head.weight, meta.head.bias]);
    expectReportRecomputes(report);
    const written = JSON.parse(fs.readFileSync(path.join(outDir, 'quick-glyph-domain.json'), 'utf8'));
    expect(written.command).toBe(`npm run reproduce -- --profile quick --config ${configPath}`);
    expect(fs.readFileSync(path.join(outDir, 'quick-glyph-domain.md'), 'utf8')).toContain('## Gates');
    // the configuration's contrast, beside this run's oracle
    expect(report.contrast?.rows.map((r) => r.kind)).toEqual(['meta-headroom']);
    expect(report.contrast?.statement).toContain('here on glyph-domain-novel 5-way 1-shot');
    expect(fs.readFileSync(path.join(outDir, 'quick-glyph-domain.md'), 'utf8')).toContain('## Contrast: the backbone’s own domain');
    ports.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 600_000);
});
