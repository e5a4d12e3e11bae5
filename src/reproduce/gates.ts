import { formatPoints, type MeanWithInterval } from '../evaluation';
import type { ZooKnowledge } from './ablation';

/** What the gates read of a Table 2/3 block (report.ts Table23Block has these fields). */
export interface GateBlock {
  set: string;
  shots: number;
  rows: { method: string; mean: number; vsNn?: MeanWithInterval }[];
  paired?: Record<string, MeanWithInterval>;
}

/**
 * The four gates of the method, in order (method.md §0): each link of LoRA Recycle has to hold
 * before the next one can: teachers that know their classes, an oracle that gains from real
 * images of them, inversion that carries that knowledge, and the headline. A gate passes when
 * every criterion does; null where the run did not measure it (e.g. no oracle row).
 */
export const GATE_THRESHOLDS = {
  teacherGainPoints: 10, // LoRA − NN on each LoRA's own held-out images, mean over the zoo
  teacherHeldOut: 0.85, // mean held-out accuracy of LoRA + head
  oracleGainPoints: 5, // oracle − NN on the headline block, interval above 0
  medianTargetConfidence: 0.9, // teacher's softmax on each surrogate's own class
  diversityOfReal: 0.5, // surrogates' within-class feature diversity ÷ real images'
  headlineGainPoints: 3, // LoRA Recycle − NN, interval above 0
  shareOfOracleGain: 0.5, // LoRA Recycle − NN ≥ this × (oracle − NN)
} as const;

export interface GateCriterion {
  name: string;
  value: number | null; // null: not measured
  threshold: string; // in words, e.g. "≥ +10 points"
  passed: boolean | null;
}

export interface Gate {
  name: 'teachers' | 'oracle' | 'inversion' | 'headline';
  passed: boolean | null; // null: some criterion was not measured
  criteria: GateCriterion[];
}

/** What the gates read of a finished run. */
export interface GateInputs {
  zooKnowledge: ZooKnowledge | null;
  headlineBlock: GateBlock | undefined; // the pre-registered (set, shots) block
  medianTargetConfidence: number | null; // of LoRA Recycle's surrogates
  withinClassDiversity: number | null; // surrogates', mean pairwise cosine distance
  realWithinClassDiversity: number | null; // real novel images'
}

const points = (fraction: number) => 100 * fraction;

/** ≥ threshold, or null when the value is missing. */
function atLeast(name: string, value: number | null | undefined, threshold: number, words: string): GateCriterion {
  const measured = value === undefined || value === null || Number.isNaN(value) ? null : value;
  return { name, value: measured, threshold: words, passed: measured === null ? null : measured >= threshold };
}

/** The lower end of a paired interval above 0 (no interval: not passed). */
function intervalAboveZero(name: string, d: MeanWithInterval | undefined): GateCriterion {
  if (!d) return { name, value: null, threshold: 'interval above 0', passed: null };
  const lower = d.ci95 === null ? null : points(d.mean - d.ci95);
  return { name, value: lower, threshold: 'interval above 0 (value: its lower end, points)', passed: lower !== null && lower > 0 };
}

function gate(name: Gate['name'], criteria: GateCriterion[]): Gate {
  const passed = criteria.some((c) => c.passed === null) ? null : criteria.every((c) => c.passed);
  return { name, passed, criteria };
}

/** The four gates of a run, each with its measured values. */
export function evaluateGates(inputs: GateInputs): Gate[] {
  const t = GATE_THRESHOLDS;
  const k = inputs.zooKnowledge;
  const block = inputs.headlineBlock;
  const vsNn = (method: string) => block?.rows.find((r) => r.method === method)?.vsNn;
  const meanOf = (method: string) => block?.rows.find((r) => r.method === method)?.mean;
  const oracle = vsNn('oracle');
  const recycle = vsNn('lora-recycle');
  const versusNoise = block?.paired?.['lora-recycle − noise'];
  const diversityRatio =
    inputs.withinClassDiversity !== null && inputs.realWithinClassDiversity
      ? inputs.withinClassDiversity / inputs.realWithinClassDiversity
      : null;
  const [o, r, u, n] = ['oracle', 'lora-recycle', 'uniform-nn', 'nn'].map(meanOf);
  const ordered = [o, r, u, n].every((m) => m !== undefined) ? Number(o! >= r! && r! > u! && u! >= n!) : null;
  return [
    gate('teachers', [
      atLeast(
        'LoRA − NN on own held-out images (points, mean over the zoo)',
        k ? points(k.difference.mean) : null,
        t.teacherGainPoints,
        `≥ +${t.teacherGainPoints} points`,
      ),
      atLeast('mean held-out accuracy of LoRA + head', k?.heldOut, t.teacherHeldOut, `≥ ${100 * t.teacherHeldOut} %`),
    ]),
    gate('oracle', [
      atLeast('oracle − NN (points)', oracle ? points(oracle.mean) : null, t.oracleGainPoints, `≥ +${t.oracleGainPoints} points`),
      intervalAboveZero('oracle − NN', oracle),
    ]),
    gate('inversion', [
      atLeast('median teacher target confidence', inputs.medianTargetConfidence, t.medianTargetConfidence, `≥ ${t.medianTargetConfidence}`),
      atLeast('within-class diversity ÷ real', diversityRatio, t.diversityOfReal, `≥ ${t.diversityOfReal}`),
      intervalAboveZero('LoRA Recycle − noise', versusNoise),
    ]),
    gate('headline', [
      atLeast(
        'LoRA Recycle − NN (points)',
        recycle ? points(recycle.mean) : null,
        t.headlineGainPoints,
        `≥ +${t.headlineGainPoints} points`,
      ),
      intervalAboveZero('LoRA Recycle − NN', recycle),
      atLeast(
        "share of the oracle's gain",
        recycle && oracle && oracle.mean > 0 ? recycle.mean / oracle.mean : null,
        t.shareOfOracleGain,
        `≥ ${t.shareOfOracleGain} (a ratio of two estimates)`,
      ),
      atLeast('ordering oracle ≥ LoRA Recycle > uniform + NN ≥ NN, by means (1: holds)', ordered, 1, '= 1'),
    ]),
  ];
}

const verdictWord = (passed: boolean | null) => (passed === null ? 'not measured' : passed ? 'passed' : 'failed');

/** "teachers: failed (LoRA − NN … = +4.10, needs ≥ +10 points; …)" for a report line. */
export function gateLine(g: Gate): string {
  const criteria = g.criteria.map(
    (c) =>
      `${c.name} ${c.value === null ? 'n/a' : Number.isInteger(c.value) ? c.value : c.value.toFixed(c.value < 2 ? 3 : 2)} (${c.threshold}: ${verdictWord(c.passed)})`,
  );
  return `**${g.name}: ${verdictWord(g.passed)}**: ${criteria.join('; ')}.`;
}

/** The headline block's LoRA Recycle − NN at another shot count, for the line beside the headline. */
export function recycleVersusNn(block: GateBlock | undefined): string | null {
  const d = block?.rows.find((r) => r.method === 'lora-recycle')?.vsNn;
  return d && block ? `${block.set} 5-way ${block.shots}-shot: LoRA Recycle − NN ${formatPoints(d)} points` : null;
}
