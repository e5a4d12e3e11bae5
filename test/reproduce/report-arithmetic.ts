import { expect } from 'vitest';
import { meanWithInterval, pairedDifference, type MeanWithInterval } from '../../src/evaluation';
import { evaluateGates } from '../../src/reproduce/gates';
import { rowAccuracies, verdicts, type ReproductionReport } from '../../src/reproduce/report';

const same = (stored: MeanWithInterval, recomputed: MeanWithInterval, what: string) => {
  expect(stored.n, `${what}: n`).toBe(recomputed.n);
  expect(stored.mean, `${what}: mean`).toBeCloseTo(recomputed.mean, 12);
  if (recomputed.ci95 === null) expect(stored.ci95, `${what}: ci95`).toBeNull();
  else expect(stored.ci95, `${what}: ci95`).toBeCloseTo(recomputed.ci95, 12);
};

/**
 * Every number of a report's Table 2/3 recomputed from the per-episode counts it records: each
 * row's mean and interval, each paired difference against NN and between ablation rows, the
 * headline, the paired verdicts among its statements, and the gates where the report has them.
 */
export function expectReportRecomputes(report: ReproductionReport): void {
  for (const block of report.table23) {
    const where = `${block.set} ${block.shots}-shot`;
    expect(block.queries, `${where}: query counts per episode`).toBeDefined();
    for (const row of block.rows) expect(row.correct, `${where} ${row.method}: per-episode counts`).toHaveLength(row.n);
    const accuracies = rowAccuracies(block);
    const nn = accuracies.get('nn')!;
    for (const row of block.rows) {
      same(row, meanWithInterval(accuracies.get(row.method)!), `${where} ${row.method}`);
      if (row.method !== 'nn') same(row.vsNn!, pairedDifference(accuracies.get(row.method)!, nn), `${where} ${row.method} − nn`);
    }
    for (const [pair, stored] of Object.entries(block.paired ?? {})) {
      const [a, b] = pair.split(' − ');
      same(stored, pairedDifference(accuracies.get(a)!, accuracies.get(b)!), `${where} ${pair}`);
    }
  }
  const h = report.headline!;
  const block = report.table23.find((b) => b.set === h.set && b.shots === h.shots)!;
  const rows = rowAccuracies(block);
  const d = pairedDifference(rows.get('lora-recycle')!, rows.get('nn')!);
  expect(h.recycleMinusNn.mean).toBeCloseTo(100 * d.mean, 10);
  expect(h.recycleMinusNn.ci95).toBeCloseTo(100 * d.ci95!, 10);
  for (const line of verdicts(report.table23, h)) expect(report.statements).toContain(line);
  if (report.gates) {
    // the gates, from the headline block recomputed above and the report's own diagnostics
    const d = report.diagnostics;
    const recomputed = evaluateGates({
      zooKnowledge: d.zooKnowledge ?? null,
      headlineBlock: block,
      medianTargetConfidence: d.medianTargetConfidence ?? null,
      withinClassDiversity: d.surrogateDiversity.withinClass,
      realWithinClassDiversity: d.surrogateDiversity.realWithinClass ?? null,
    });
    expect(JSON.parse(JSON.stringify(recomputed)), 'gates').toEqual(report.gates);
  }
}
