import { formatPercent, formatPoints, pairedDifference, pairedVerdict, type MeanWithInterval } from '../evaluation';
import type { ZooKnowledge } from './ablation';
import type { CpuUse } from './cpu-use';
import { gateLine, type Gate } from './gates';
import { accuraciesOf } from './episode-scores';
import { contrastMarkdown, type Contrast } from './contrast';

/** One row of the Table 2/3 analogue: a method on one (set, shots) setting. */
export interface MethodRow extends MeanWithInterval {
  method: string;
  seconds: number;
  vsNn?: MeanWithInterval; // this method − NN on the same episodes (paired); absent for NN itself and in older reports
  correct?: number[]; // correct queries per episode, for the block's first n episodes (absent in reports written before they were kept)
}

export interface Table23Block {
  set: string; // e.g. "emoji-novel", "mnist"
  shots: number;
  rows: MethodRow[];
  paired?: Record<string, MeanWithInterval>; // the ablation's other paired differences, keyed "a − b" (ablation.ts)
  queries?: number[]; // query images per episode of the block's list: a row's accuracy on episode i is correct[i] / queries[i]
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
  medianTargetConfidence?: number; // its median over LoRA Recycle's surrogates (the inversion gate's measure)
  surrogateDiversity: { withinClass: number; betweenClass: number; realWithinClass?: number }; // mean pairwise cosine distance of features
  learningCurve: { step: number; loss: number; accuracy: number }[]; // meta-training, averaged in windows
  validation: { step: number; accuracy: number }[];
  bestStep: number | null;
  targetConfidenceBySource?: Record<string, { mean: number; min: number; max: number }>; // targetConfidence per ablation variant: surrogates, real images, noise...
  /** Share of each source's images whose blurred ink is most like their own class's real ink (ink-match.ts); oracle: the real images, each left out. */
  inkMatchBySource?: Record<string, number>;
  bestStepBySource?: Record<string, number | null>;
  stepsBySource?: Record<string, number>; // steps each meta-training ran: fewer than asked after an early stop (metaTraining.patience)
  logitScaleBySource?: Record<string, number>; // s of softmax(−s·d) in each meta-training's losses
  zooKnowledge?: ZooKnowledge; // the zoo's LoRAs against NN on their own held-out images
  /** Accuracy on the validation episodes: NN's, and each meta-LoRA's at its selected step (the maximum over checkpoints, so biased upward). */
  selectedValidation?: { nn: number; bySource: Record<string, number | null> };
}

/**
 * The one comparison a report is judged by, named in its profile before the run (profiles.ts):
 * LoRA Recycle − NN on one set and shot count, paired, in points. Every other verdict of the
 * report is exploratory.
 */
export interface Headline {
  set: string;
  ways: number;
  shots: number;
  recycleMinusNn: { mean: number; ci95: number | null };
  verdict?: string; // the paired verdict in words (absent in older reports)
  preregistered?: string; // where and when the comparison was named
}

export interface ReproductionReport {
  profile: string;
  name?: string; // the report's file name when not the profile's (a configuration in another domain than the profile's default)
  command?: string; // the command that writes it, when not `npm run reproduce -- --profile <profile>`
  startedAt: string;
  seconds: number; // wall time of the whole reproduction
  stageSeconds?: Record<string, number>; // wall time per stage (backbone, zoo, inversion, ...); absent in reports written before it was measured
  zooTuningSeconds?: number; // the tuning time its LoRAs' records give (zoo.json), summed; absent where none records it
  cpu?: CpuUse; // where the run's CPU time went; absent in reports written before it was measured
  machine: { cpus: number; cpuModel?: string; backend: string; node: string };
  settings: Record<string, unknown>; // the configuration actually used
  headline?: Headline | null; // absent in reports written before the ablation
  figure?: { file: string; caption: string }; // PNG beside the report: real, noise, inverted and pruned images per zoo LoRA
  table23: Table23Block[];
  table45: PruningRow[];
  diagnostics: Diagnostics;
  headlineStatement?: string; // the pre-registered comparison's verdict
  gates?: Gate[]; // teachers, oracle, inversion, headline (gates.ts); absent in reports written before them
  besideHeadline?: string[]; // LoRA Recycle − NN on the headline's set at the other shot counts (not pre-registered)
  contrast?: Contrast; // the configuration's contrast (RunConfig.contrast): other committed results beside this run's oracle
  statements: string[]; // exploratory verdicts: no multiple-comparison control
  notes: string[]; // what was tried, what is not done
}

const signed = (points: number) => `${points >= 0 ? '+' : ''}${points.toFixed(2)}`;

/** "LoRA Recycle is better than NN" and the like, from the paired interval of a − b alone. */
export function pairedWords(a: string, b: string, d: MeanWithInterval): string {
  const verdict = pairedVerdict(d);
  if (verdict === 'no interval') return `one episode: no interval, so no verdict on ${a} against ${b}`;
  if (verdict === 'no detectable difference') return `no detectable difference between ${a} and ${b}`;
  return `${a} is ${verdict} than ${b}`;
}

/** Per-episode accuracies of the rows that recorded them, by method. */
export function rowAccuracies(block: Table23Block): Map<string, number[]> {
  const queries = block.queries;
  return queries ? new Map(block.rows.filter((r) => r.correct).map((r) => [r.method, accuraciesOf(r.correct!, queries)])) : new Map();
}

/**
 * The best method of a block, named only where its paired differences against every other row
 * exclude 0; otherwise which row the top mean is not separated from. Rows with fewer episodes
 * (the fine-tuning baselines) pair on the episodes both ran.
 */
export function bestMethodStatement(block: Table23Block, setting: string): string | null {
  const accuracies = rowAccuracies(block);
  if (accuracies.size < 2 || accuracies.size !== block.rows.length) return null;
  const ranked = [...block.rows].sort((a, b) => b.mean - a.mean);
  for (const candidate of ranked) {
    const against = ranked
      .filter((r) => r !== candidate)
      .map((r) => ({ method: r.method, d: pairedDifference(accuracies.get(candidate.method)!, accuracies.get(r.method)!) }));
    if (against.every((x) => pairedVerdict(x.d) === 'better')) {
      const closest = against.reduce((a, b) => (b.d.mean < a.d.mean ? b : a));
      return `${setting}: ${candidate.method} is better than every other method on paired differences (closest: − ${closest.method} ${formatPoints(closest.d)} points).`;
    }
  }
  const top = ranked[0];
  const tied = ranked
    .slice(1)
    .map((r) => ({ method: r.method, d: pairedDifference(accuracies.get(top.method)!, accuracies.get(r.method)!) }))
    .filter((x) => pairedVerdict(x.d) !== 'better');
  return `${setting}: no method is better than every other; the highest mean, ${top.method} ${formatPercent(top)} %, is not separated from ${tied.map((x) => `${x.method} (${formatPoints(x.d)} points)`).join(', ')}.`;
}

/**
 * Verdicts from paired differences only: LoRA Recycle against NN, and the best method where one
 * is, per setting; the pre-registered `headline` block's LoRA Recycle − NN is left to the headline.
 */
export function verdicts(blocks: readonly Table23Block[], headline?: { set: string; shots: number }): string[] {
  const out: string[] = [];
  for (const block of blocks) {
    const setting = `${block.set} 5-way ${block.shots}-shot`;
    const recycle = block.rows.find((r) => r.method === 'lora-recycle');
    const isHeadline = headline?.set === block.set && headline.shots === block.shots;
    if (recycle?.vsNn && !isHeadline)
      out.push(
        `${setting}: ${pairedWords('LoRA Recycle', 'NN', recycle.vsNn)} (LoRA Recycle − NN ${formatPoints(recycle.vsNn)} points, paired over ${recycle.vsNn.n} episodes).`,
      );
    const best = bestMethodStatement(block, setting);
    if (best) out.push(best);
  }
  return out;
}

/** The pre-registered headline: its number, its verdict, and where it was named. */
/** " (each ends after N validations without a new best)" when the run's metaTraining sets a patience. */
function patienceNote(settings: Record<string, unknown>): string {
  const patience = (settings.metaTraining as { patience?: number } | undefined)?.patience;
  return patience === undefined ? '' : ` (each ends after ${patience} validations without a new best, metaTraining.patience)`;
}

function headlineLines(h: Headline, statement: string | undefined): string[] {
  const d = h.recycleMinusNn;
  const value = d.ci95 === null ? `${signed(d.mean)} points (no interval)` : `${signed(d.mean)} ± ${d.ci95.toFixed(2)} points`;
  return [
    '## Headline (pre-registered)',
    '',
    `LoRA Recycle − NN on ${h.set} ${h.ways}-way ${h.shots}-shot, paired over the same episodes: **${value}**.${statement ? ` ${statement}` : ''}`,
    ...(h.preregistered ? ['', `Named before the run: ${h.preregistered}.`] : []),
    '',
  ];
}

/**
 * The wall time per stage; where the zoo stage took less than half its LoRAs' recorded tuning
 * time, the zoo was found in the run folder, and a sentence says what the run takes from scratch.
 */
function wallTimeLines(seconds: number, stageSeconds: Record<string, number>, zooTuningSeconds?: number): string[] {
  const stages = `Wall time per stage: ${Object.entries(stageSeconds)
    .map(([stage, s]) => `${stage} ${s.toFixed(0)} s`)
    .join(', ')}.`;
  const zoo = stageSeconds.zoo;
  if (zooTuningSeconds === undefined || zoo === undefined || zoo >= zooTuningSeconds / 2) return [stages, ''];
  return [
    `${stages} The zoo was found in the run folder: tuning its LoRAs took ${zooTuningSeconds.toFixed(0)} s when it was built (their records in zoo.json), so this run from scratch takes about ${(seconds - zoo + zooTuningSeconds).toFixed(0)} s.`,
    '',
  ];
}

const percent = (share: number) => `${(100 * share).toFixed(0)} %`;

/** Where the run's CPU time went, in one sentence: a wall time means little without it. */
export function cpuUseLine(cpu: CpuUse, cpus: number): string {
  const machine =
    cpu.otherProcessesShare === null || cpu.stealShare === null
      ? 'the machine-wide shares are unknown here (no /proc/stat)'
      : `other processes took ${percent(cpu.otherProcessesShare)} of the machine's CPU time and the hypervisor ${percent(cpu.stealShare)} (steal)`;
  return `CPU: this run kept ${cpu.processCores.toFixed(2)} of the ${cpus} cores busy on average; ${machine}.`;
}

/** The markdown version of a report. */
export function renderMarkdown(report: ReproductionReport): string {
  const lines: string[] = [
    `# LoRA Recycle reproduction — profile "${report.profile}"`,
    '',
    `Run ${report.startedAt}, ${report.seconds.toFixed(0)} s wall time on ${report.machine.cpus} CPU cores${report.machine.cpuModel ? ` (${report.machine.cpuModel})` : ''}, backend ${report.machine.backend}, Node ${report.machine.node}. Written by \`${report.command ?? `npm run reproduce -- --profile ${report.profile}`}\` with this JSON beside it (\`${report.name ?? report.profile}.json\`: every row's per-episode counts, from which each interval recomputes).`,
    '',
    ...(report.stageSeconds ? wallTimeLines(report.seconds, report.stageSeconds, report.zooTuningSeconds) : []),
    ...(report.cpu ? [cpuUseLine(report.cpu, report.machine.cpus), ''] : []),
    ...(report.headline ? headlineLines(report.headline, report.headlineStatement) : []),
    ...(report.besideHeadline ? [...report.besideHeadline.map((line) => `Beside it, not pre-registered: ${line}.`), ''] : []),
    ...(report.gates
      ? [
          '## Gates (docs/method.md §0)',
          '',
          'Each link of the method, in order: teachers that know their classes, an oracle that gains from their real images, inversion that carries it, the headline. Thresholds in `src/reproduce/gates.ts`.',
          '',
          ...report.gates.map((g) => `- ${gateLine(g)}`),
          '',
        ]
      : []),
    ...(report.contrast ? contrastMarkdown(report.contrast) : []),
    `## Exploratory comparisons (${report.statements.length} verdicts)`,
    '',
    "Each verdict reads one paired 95 % interval (Student's t); with this many of them and no multiple-comparison control, about one in twenty true ties reads as a difference. They are leads, not findings; only the headline was named before the run.",
    '',
    ...report.statements.map((s) => `- ${s}`),
    '',
    ...(report.figure ? ['## What inversion makes', '', `![inverted images](${report.figure.file})`, '', report.figure.caption, ''] : []),
    '## Table 2/3 analogue: accuracy (%) on 5-way episodes, mean ± 95 % interval',
    '',
    'Every row of a block runs on the same episodes; "vs NN" is the paired difference (method − NN, per episode) with its 95 % interval, in points. Rows below the line are the ablation\'s meta-LoRAs (same meta-training, other images).',
    '',
  ];
  for (const block of report.table23) {
    lines.push(
      `### ${block.set}, ${block.shots}-shot`,
      '',
      '| method | accuracy | vs NN (paired) | episodes | seconds |',
      '|---|---|---|---|---|',
    );
    for (const row of block.rows)
      lines.push(
        `| ${row.method} | ${formatPercent(row)} | ${row.vsNn ? formatPoints(row.vsNn) : ''} | ${row.n} | ${row.seconds.toFixed(1)} |`,
      );
    for (const [pair, d] of Object.entries(block.paired ?? {})) lines.push(`| ${pair} (paired) | | ${formatPoints(d)} | ${d.n} | |`);
    lines.push('');
  }
  lines.push('## Table 4/5 analogue: token pruning during inversion', '');
  if (report.table45.length === 0) lines.push('Not measured by this profile (its budget has no pruned inversion).');
  else
    lines.push(
      '| pruning | LoRA Recycle 1-shot acc. | inversion it/s | meta-training episodes/s | patch tokens kept |',
      '|---|---|---|---|---|',
    );
  for (const row of report.table45) {
    lines.push(
      `| ${row.label} | ${row.accuracy.n > 0 ? formatPercent(row.accuracy) : 'n/a'} | ${row.inversionIterationsPerSecond.toFixed(2)} | ${row.metaEpisodesPerSecond.toFixed(2)} | ${row.tokensKept.toFixed(1)} / ${row.patchCount} |`,
    );
  }
  const d = report.diagnostics;
  lines.push(
    '',
    '## Diagnostics',
    '',
    `- Inversion target confidence (softmax of the LoRA's head on each surrogate's own target class): mean ${d.targetConfidence.mean.toFixed(3)}, min ${d.targetConfidence.min.toFixed(3)}, max ${d.targetConfidence.max.toFixed(3)}.`,
    ...(d.targetConfidenceBySource
      ? [
          `- Target confidence on each source's images (mean): ${Object.entries(d.targetConfidenceBySource)
            .map(([k, v]) => `${k} ${v.mean.toFixed(3)}`)
            .join(', ')}.`,
        ]
      : []),
    ...(d.logitScaleBySource
      ? [
          `- Logit scale s of the meta-training losses softmax(−s·d): ${Object.entries(d.logitScaleBySource)
            .map(([k, v]) => `${k} ${v.toPrecision(3)}`)
            .join(', ')}.`,
        ]
      : []),
    ...(d.zooKnowledge
      ? [
          `- Zoo LoRAs on their own tasks' held-out images: LoRA + head ${(100 * d.zooKnowledge.heldOut).toFixed(1)} %, NN (frozen backbone prototypes of the same training images) ${(100 * d.zooKnowledge.nnHeldOut).toFixed(1)} %; LoRA − NN ${formatPoints(d.zooKnowledge.difference)} points, paired over ${d.zooKnowledge.loras} LoRAs.`,
        ]
      : []),
    ...(d.selectedValidation
      ? [
          `- Validation accuracy (the split that selects; each meta-LoRA at its selected step, the best of its checkpoints, so biased upward): NN ${(100 * d.selectedValidation.nn).toFixed(2)} %, ${Object.entries(
            d.selectedValidation.bySource,
          )
            .map(([k, v]) => `${k} ${v === null ? 'n/a' : `${(100 * v).toFixed(2)} %`}`)
            .join(', ')}.`,
        ]
      : []),
    ...(d.bestStepBySource
      ? [
          `- Selected (best validation) step per meta-LoRA: ${Object.entries(d.bestStepBySource)
            .map(([k, v]) => `${k} ${v ?? 'n/a'}`)
            .join(', ')}.`,
        ]
      : []),
    ...(d.stepsBySource
      ? [
          `- Steps trained per meta-LoRA${patienceNote(report.settings)}: ${Object.entries(d.stepsBySource)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}.`,
        ]
      : []),
    `- Surrogate diversity (mean pairwise cosine distance of backbone features): within class ${d.surrogateDiversity.withinClass.toFixed(3)}, between classes ${d.surrogateDiversity.betweenClass.toFixed(3)}` +
      (d.surrogateDiversity.realWithinClass !== undefined
        ? `; real novel images within class ${d.surrogateDiversity.realWithinClass.toFixed(3)}.`
        : '.'),
    ...(d.inkMatchBySource
      ? [
          `- Do the images read as their class? Share whose blurred ink is most like their own class's real ink among the classes of its task (src/reproduce/ink-match.ts, a model-free stand-in for a person reading them; the random start, noise, shows chance): ${Object.entries(
            d.inkMatchBySource,
          )
            .map(([k, v]) => `${k} ${(100 * v).toFixed(1)} %`)
            .join(', ')} (oracle: the real images, each left out of its own class).`,
        ]
      : []),
    `- Meta-training: best validation step ${d.bestStep ?? 'n/a'}; validation accuracy ${d.validation.map((v) => `${v.step}: ${(100 * v.accuracy).toFixed(1)}`).join(', ') || 'n/a'}.`,
    '',
    '| step | loss | train accuracy |',
    '|---|---|---|',
    ...d.learningCurve.map((p) => `| ${p.step} | ${p.loss.toFixed(4)} | ${(100 * p.accuracy).toFixed(1)} |`),
    '',
    '## Notes',
    '',
    ...report.notes.map((n) => `- ${n}`),
    '',
  );
  return lines.join('\n');
}
