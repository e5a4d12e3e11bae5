import type { MeanWithInterval } from '../evaluation';
import type { ZooKnowledge } from './ablation';

/** One row of the Table 2/3 analogue: a method on one (set, shots) setting. */
export interface MethodRow extends MeanWithInterval {
  method: string;
  seconds: number;
  vsNn?: MeanWithInterval; // this method − NN on the same episodes (paired); absent for NN itself and in older reports
}

export interface Table23Block {
  set: string; // e.g. "emoji-novel", "mnist"
  shots: number;
  rows: MethodRow[];
  paired?: Record<string, MeanWithInterval>; // the ablation's other paired differences, keyed "a − b" (ablation.ts)
}

/** One row of the Table 4/5 analogue: a pruning schedule. */
export interface PruningRow {
  label: string; // e.g. "none", "last layer 50 %"
  pruning: Record<string, number>;
  accuracy: MeanWithInterval; // LoRA Recycle, novel 5-way 1-shot
  inversionIterationsPerSecond: number;
  metaEpisodesPerSecond: number;
  tokensKept: number; // mean patch tokens kept per image (of patchCount)
  patchCount: number;
}

export interface Diagnostics {
  targetConfidence: { mean: number; min: number; max: number }; // teacher p(y_i | x_i): softmax on each surrogate's own target class
  surrogateDiversity: { withinClass: number; betweenClass: number; realWithinClass?: number }; // mean pairwise cosine distance of features
  learningCurve: { step: number; loss: number; accuracy: number }[]; // meta-training, averaged in windows
  validation: { step: number; accuracy: number }[];
  bestStep: number | null;
  targetConfidenceBySource?: Record<string, { mean: number; min: number; max: number }>; // targetConfidence per ablation variant: surrogates, real images, noise...
  bestStepBySource?: Record<string, number | null>;
  logitScaleBySource?: Record<string, number>; // s of softmax(−s·d) in each meta-training's losses
  zooKnowledge?: ZooKnowledge; // the zoo's LoRAs against NN on their own held-out images
  /** Accuracy on the validation episodes: NN's, and each meta-LoRA's at its selected step (the maximum over checkpoints, so biased upward). */
  selectedValidation?: { nn: number; bySource: Record<string, number | null> };
}

/** The one number the project is judged by: LoRA Recycle − NN on novel emoji, paired, in points. */
export interface Headline {
  set: string;
  ways: number;
  shots: number;
  recycleMinusNn: { mean: number; ci95: number };
}

export interface ReproductionReport {
  profile: string;
  startedAt: string;
  seconds: number; // wall time of the whole reproduction
  stageSeconds?: Record<string, number>; // wall time per stage (backbone, zoo, inversion, ...); absent in reports written before it was measured
  machine: { cpus: number; backend: string; node: string };
  settings: Record<string, unknown>; // the configuration actually used
  headline?: Headline | null; // absent in reports written before the ablation
  figure?: { file: string; caption: string }; // PNG beside the report: real, noise, inverted and pruned images per zoo LoRA
  table23: Table23Block[];
  table45: PruningRow[];
  diagnostics: Diagnostics;
  statements: string[]; // who wins, measured
  notes: string[]; // what was tried, what is not done
}

const pct = (x: MeanWithInterval) => `${(100 * x.mean).toFixed(2)} ± ${(100 * x.ci95).toFixed(2)}`;
const signed = (points: number) => `${points >= 0 ? '+' : ''}${points.toFixed(2)}`;
const pointsOf = (d: MeanWithInterval) => `${signed(100 * d.mean)} ± ${(100 * d.ci95).toFixed(2)}`;

/** Honest one-line verdicts: LoRA Recycle against NN and against the best other method, per setting. */
export function verdicts(blocks: readonly Table23Block[]): string[] {
  const out: string[] = [];
  for (const block of blocks) {
    const setting = `${block.set} 5-way ${block.shots}-shot`;
    const recycle = block.rows.find((r) => r.method === 'lora-recycle');
    const nn = block.rows.find((r) => r.method === 'nn');
    if (recycle && nn) {
      const gap = recycle.mean - nn.mean;
      const separated = Math.abs(gap) > recycle.ci95 + nn.ci95;
      const verdict = gap > 0 ? (separated ? 'beats' : 'is above (intervals overlap)') : (separated ? 'loses to' : 'is below (intervals overlap)');
      out.push(`${setting}: LoRA Recycle ${pct(recycle)} ${verdict} NN ${pct(nn)} (${gap >= 0 ? '+' : ''}${(100 * gap).toFixed(2)} points).`);
    }
    const best = [...block.rows].sort((a, b) => b.mean - a.mean)[0];
    if (best) out.push(`${setting}: best method is ${best.method} at ${pct(best)}.`);
  }
  return out;
}

/** The markdown version of a report. */
export function renderMarkdown(report: ReproductionReport): string {
  const lines: string[] = [
    `# LoRA Recycle reproduction — profile "${report.profile}"`, '',
    `Run ${report.startedAt}, ${report.seconds.toFixed(0)} s wall time on ${report.machine.cpus} CPU cores, backend ${report.machine.backend}, Node ${report.machine.node}.`, '',
    ...(report.stageSeconds ? [`Wall time per stage: ${Object.entries(report.stageSeconds).map(([stage, s]) => `${stage} ${s.toFixed(0)} s`).join(', ')}.`, ''] : []),
    ...(report.headline ? [`**Headline**: LoRA Recycle − NN on ${report.headline.set} ${report.headline.ways}-way ${report.headline.shots}-shot, paired over the same episodes: ${signed(report.headline.recycleMinusNn.mean)} ± ${report.headline.recycleMinusNn.ci95.toFixed(2)} points.`, ''] : []),
    '## Who wins (measured)', '', ...report.statements.map((s) => `- ${s}`), '',
    ...(report.figure ? ['## What inversion makes', '', `![inverted images](${report.figure.file})`, '', report.figure.caption, ''] : []),
    '## Table 2/3 analogue: accuracy (%) on 5-way episodes, mean ± 95 % interval', '',
    'Every row of a block runs on the same episodes; "vs NN" is the paired difference (method − NN, per episode) with its 95 % interval, in points. Rows below the line are the ablation\'s meta-LoRAs (same meta-training, other images).', '',
  ];
  for (const block of report.table23) {
    lines.push(`### ${block.set}, ${block.shots}-shot`, '', '| method | accuracy | vs NN (paired) | episodes | seconds |', '|---|---|---|---|---|');
    for (const row of block.rows) lines.push(`| ${row.method} | ${pct(row)} | ${row.vsNn ? pointsOf(row.vsNn) : ''} | ${row.n} | ${row.seconds.toFixed(1)} |`);
    for (const [pair, d] of Object.entries(block.paired ?? {})) lines.push(`| ${pair} (paired) | | ${pointsOf(d)} | ${d.n} | |`);
    lines.push('');
  }
  lines.push('## Table 4/5 analogue: token pruning during inversion', '',
    '| pruning | LoRA Recycle 1-shot acc. | inversion it/s | meta-training episodes/s | patch tokens kept |', '|---|---|---|---|---|');
  for (const row of report.table45) {
    lines.push(`| ${row.label} | ${pct(row.accuracy)} | ${row.inversionIterationsPerSecond.toFixed(2)} | ${row.metaEpisodesPerSecond.toFixed(2)} | ${row.tokensKept.toFixed(1)} / ${row.patchCount} |`);
  }
  const d = report.diagnostics;
  lines.push('', '## Diagnostics', '',
    `- Inversion target confidence (softmax of the LoRA's head on each surrogate's own target class): mean ${d.targetConfidence.mean.toFixed(3)}, min ${d.targetConfidence.min.toFixed(3)}, max ${d.targetConfidence.max.toFixed(3)}.`,
    ...(d.targetConfidenceBySource ? [`- Target confidence on each source's images (mean): ${Object.entries(d.targetConfidenceBySource).map(([k, v]) => `${k} ${v.mean.toFixed(3)}`).join(', ')}.`] : []),
    ...(d.logitScaleBySource ? [`- Logit scale s of the meta-training losses softmax(−s·d): ${Object.entries(d.logitScaleBySource).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(', ')}.`] : []),
    ...(d.zooKnowledge ? [`- Zoo LoRAs on their own tasks' held-out images: LoRA + head ${(100 * d.zooKnowledge.heldOut).toFixed(1)} %, NN (frozen backbone prototypes of the same training images) ${(100 * d.zooKnowledge.nnHeldOut).toFixed(1)} %; LoRA − NN ${pointsOf(d.zooKnowledge.difference)} points, paired over ${d.zooKnowledge.loras} LoRAs.`] : []),
    ...(d.selectedValidation ? [`- Validation accuracy (the split that selects; each meta-LoRA at its selected step, the best of its checkpoints, so biased upward): NN ${(100 * d.selectedValidation.nn).toFixed(2)} %, ${Object.entries(d.selectedValidation.bySource).map(([k, v]) => `${k} ${v === null ? 'n/a' : `${(100 * v).toFixed(2)} %`}`).join(', ')}.`] : []),
    ...(d.bestStepBySource ? [`- Selected (best validation) step per meta-LoRA: ${Object.entries(d.bestStepBySource).map(([k, v]) => `${k} ${v ?? 'n/a'}`).join(', ')}.`] : []),
    `- Surrogate diversity (mean pairwise cosine distance of backbone features): within class ${d.surrogateDiversity.withinClass.toFixed(3)}, between classes ${d.surrogateDiversity.betweenClass.toFixed(3)}` +
      (d.surrogateDiversity.realWithinClass !== undefined ? `; real novel images within class ${d.surrogateDiversity.realWithinClass.toFixed(3)}.` : '.'),
    `- Meta-training: best validation step ${d.bestStep ?? 'n/a'}; validation accuracy ${d.validation.map((v) => `${v.step}: ${(100 * v.accuracy).toFixed(1)}`).join(', ') || 'n/a'}.`,
    '', '| step | loss | train accuracy |', '|---|---|---|',
    ...d.learningCurve.map((p) => `| ${p.step} | ${p.loss.toFixed(4)} | ${(100 * p.accuracy).toFixed(1)} |`),
    '', '## Notes', '', ...report.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}
