import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors';
import { validateRunConfig, loadRunConfig } from '../../src/reproduce/config';
import { contrastMarkdown, contrastOf, oracleHere, readContrast, type ContrastRow } from '../../src/reproduce/contrast';
import type { Table23Block } from '../../src/reproduce/report';

const ROOT = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-contrast-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const row = (label: string, mean: number, ci95: number): ContrastRow => ({
  label,
  file: `${label}.json`,
  kind: 'meta-headroom',
  nn: 0.45,
  oracleMinusNn: { mean, ci95, n: 300 },
});

describe('the contrast of a report (RunConfig.contrast)', () => {
  it("reads a reproduction report's headline block and a meta-headroom probe's selected step, in points", () => {
    const [category, random] = readContrast(
      [
        { label: 'emoji, split by category', file: 'reports/standard-emoji.json' },
        { label: 'emoji, split at random', file: 'reports/meta-headroom-emoji-random/meta-headroom.json' },
      ],
      ROOT,
    );
    const emoji = JSON.parse(fs.readFileSync(path.join(ROOT, 'reports/standard-emoji.json'), 'utf8'));
    const block = emoji.table23.find((b: Table23Block) => b.set === emoji.headline.set && b.shots === emoji.headline.shots);
    const vsNn = (method: string) => block.rows.find((r: { method: string }) => r.method === method).vsNn;
    expect(category.kind).toBe('reproduction');
    expect(category.oracleMinusNn.mean).toBeCloseTo(100 * vsNn('oracle').mean, 10);
    expect(category.recycleMinusNn!.mean).toBeCloseTo(emoji.headline.recycleMinusNn.mean, 10);
    expect(category.nn).toBe(block.rows.find((r: { method: string }) => r.method === 'nn').mean);

    const probe = JSON.parse(fs.readFileSync(path.join(ROOT, 'reports/meta-headroom-emoji-random/meta-headroom.json'), 'utf8'));
    const selected = probe.rows[0].curve.find((c: { step: number }) => c.step === probe.rows[0].selectedStep);
    expect(random.kind).toBe('meta-headroom');
    expect(random.oracleMinusNn).toEqual({ mean: 100 * selected.novel.minusNn.mean, ci95: 100 * selected.novel.minusNn.ci95, n: 300 });
    expect(random.recycleMinusNn).toBeUndefined();
  });

  it('says every contrast interval lies below this run’s only when each does', () => {
    const here = { set: 'B novel', oracleMinusNn: { mean: 14, ci95: 1, n: 600 } };
    expect(contrastOf([row('a', 0.5, 0.5), row('b', 3.3, 1)], here).statement).toMatch(/every contrast interval lies below this run’s/);
    // 12.5 + 0.6 reaches past 14 − 1: no longer below
    expect(contrastOf([row('a', 0.5, 0.5), row('b', 12.5, 0.6)], here).statement).toMatch(/not every contrast interval lies below/);
    expect(contrastOf([row('a', 0.5, 0.5)], null).statement).toMatch(/no oracle row/);
  });

  it("takes this run's oracle − NN from the headline block, and renders a table with its sentence", () => {
    const block = {
      set: 'glyph-domain-novel',
      shots: 1,
      rows: [
        { method: 'nn', mean: 0.4, ci95: 0.01, n: 600, seconds: 1 },
        { method: 'oracle', mean: 0.5, ci95: 0.01, n: 600, seconds: 1, vsNn: { mean: 0.1, ci95: 0.01, n: 600 } },
      ],
    } as Table23Block;
    const here = oracleHere(block)!;
    expect(here.oracleMinusNn.mean).toBeCloseTo(10, 10);
    expect(oracleHere({ ...block, rows: block.rows.slice(0, 1) })).toBeNull();
    const md = contrastMarkdown(contrastOf([row('emoji, split at random', 3.33, 1.05)], here)).join('\n');
    expect(md).toContain(
      '| emoji, split at random | `emoji, split at random.json` (real-data meta-training probe) | 45.00 % | +3.33 ± 1.05 | not run |',
    );
    expect(md).toContain('against +10.00 ± 1.00 here on glyph-domain-novel 5-way 1-shot');
  });

  it('refuses a missing file, a file of another kind, and a malformed entry, naming them', () => {
    expect(() => readContrast([{ label: 'gone', file: 'nowhere.json' }], tmp)).toThrow(ConfigError);
    expect(() => readContrast([{ label: 'gone', file: 'nowhere.json' }], tmp)).toThrow(
      /contrast "gone" \(nowhere.json\): not a readable JSON file/,
    );
    fs.writeFileSync(path.join(tmp, 'other.json'), JSON.stringify({ something: 1 }));
    expect(() => readContrast([{ label: 'other', file: 'other.json' }], tmp)).toThrow(/neither a reproduction report/);
    fs.writeFileSync(path.join(tmp, 'bare.json'), JSON.stringify({ table23: [], headline: null }));
    expect(() => readContrast([{ label: 'bare', file: 'bare.json' }], tmp)).toThrow(/without NN, oracle and LoRA Recycle rows/);
    const config = loadRunConfig(path.join(ROOT, 'configs', 'glyph-domain.json'));
    expect(() => validateRunConfig({ ...config, contrast: [{ label: 'x' }] } as never, 'test')).toThrow(/contrast must be a list of/);
    expect(readContrast(config.contrast!, ROOT)).toHaveLength(2); // domain B's configuration names files that are committed
  });
});
