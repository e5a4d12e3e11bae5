import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../errors';
import { packageRoot } from '../paths/package-root';

/** The parts of a Table 2/3 block (report.ts) the contrast reads: NN and each row's paired difference to it. */
interface BlockRows {
  set: string;
  shots: number;
  rows: { method: string; mean: number; vsNn?: { mean: number; ci95: number | null; n: number } }[];
}

/** A committed result a configuration names as its report's contrast (RunConfig.contrast). */
export interface ContrastSource {
  label: string; // "emoji, split by category"
  file: string; // a reproduction report's JSON or an exp:meta-headroom JSON; relative to the package
}

/** A paired difference to NN in points: mean, 95 % interval, episodes. */
export interface PointsDifference {
  mean: number;
  ci95: number | null;
  n: number;
}

/**
 * One contrast row, read from its file when the run starts: what real-data meta-training (the
 * oracle) and, in a reproduction report, LoRA Recycle gain over NN on that file's meta-test episodes.
 */
export interface ContrastRow {
  label: string;
  file: string;
  kind: 'reproduction' | 'meta-headroom';
  nn: number; // NN accuracy on those episodes
  oracleMinusNn: PointsDifference;
  recycleMinusNn?: PointsDifference;
}

/** The contrast of a report: its rows and one sentence on what they show beside this run's oracle. */
export interface Contrast {
  rows: ContrastRow[];
  statement: string;
}

const inPoints = (d: { mean: number; ci95: number | null; n: number }): PointsDifference => ({
  mean: 100 * d.mean,
  ci95: d.ci95 === null ? null : 100 * d.ci95,
  n: d.n,
});

// biome-ignore lint/suspicious/noExplicitAny: a parsed file, checked field by field where it is read
type Json = Record<string, any>;

/** The 1-shot block of a reproduction report's headline set: NN, the oracle and LoRA Recycle against it. */
function fromReproduction(report: Json, where: string): Omit<ContrastRow, 'label' | 'file'> {
  const headline = report.headline;
  const block = (report.table23 as BlockRows[] | undefined)?.find((b) => b.set === headline?.set && b.shots === headline?.shots);
  const row = (method: string) => block?.rows.find((r) => r.method === method);
  const nn = row('nn');
  const oracle = row('oracle')?.vsNn;
  const recycle = row('lora-recycle')?.vsNn;
  if (!nn || !oracle || !recycle)
    throw new ConfigError(`${where}: a reproduction report without NN, oracle and LoRA Recycle rows on its headline block`);
  return { kind: 'reproduction', nn: nn.mean, oracleMinusNn: inPoints(oracle), recycleMinusNn: inPoints(recycle) };
}

/** The checkpoint validation selected, scored on novel (never selected on): real-data meta-training − NN. */
function fromMetaHeadroom(probe: Json, where: string): Omit<ContrastRow, 'label' | 'file'> {
  const row = probe.rows?.[0];
  const selected = row?.curve?.find((c: Json) => c.step === row.selectedStep);
  if (!selected?.novel?.minusNn || typeof probe.nnNovel?.mean !== 'number')
    throw new ConfigError(`${where}: an exp:meta-headroom report without a selected step scored on novel classes`);
  return { kind: 'meta-headroom', nn: probe.nnNovel.mean, oracleMinusNn: inPoints(selected.novel.minusNn) };
}

/** Reads each source (ConfigError naming the file when it is missing or not one of the two kinds). */
export function readContrast(sources: readonly ContrastSource[], root = packageRoot()): ContrastRow[] {
  return sources.map(({ label, file }) => {
    const where = `contrast "${label}" (${file})`;
    let json: Json;
    try {
      json = JSON.parse(fs.readFileSync(path.resolve(root, file), 'utf8'));
    } catch (error) {
      throw new ConfigError(`${where}: not a readable JSON file (${(error as Error).message})`);
    }
    const read = Array.isArray(json.table23) ? fromReproduction : Array.isArray(json.rows) ? fromMetaHeadroom : null;
    if (!read) throw new ConfigError(`${where}: neither a reproduction report (table23) nor an exp:meta-headroom report (rows)`);
    return { label, file, ...read(json, where) };
  });
}

const points = (d: PointsDifference) => `${d.mean >= 0 ? '+' : ''}${d.mean.toFixed(2)}${d.ci95 === null ? '' : ` ± ${d.ci95.toFixed(2)}`}`;
const upper = (d: PointsDifference) => d.mean + (d.ci95 ?? Number.POSITIVE_INFINITY);
const lower = (d: PointsDifference) => d.mean - (d.ci95 ?? Number.POSITIVE_INFINITY);

/**
 * The contrast's sentence: real-data meta-training's gain over NN in each contrast row against
 * this run's (`here`, the oracle row of the headline block), and whether every contrast interval
 * lies below this run's.
 */
export function contrastOf(rows: ContrastRow[], here: { set: string; oracleMinusNn: PointsDifference } | null): Contrast {
  const there = rows.map((r) => `${points(r.oracleMinusNn)} (${r.label})`).join(' and ');
  if (!here)
    return {
      rows,
      statement: `Real-data meta-training gains ${there} points over NN in the contrast; this run has no oracle row to set beside it.`,
    };
  const below = rows.every((r) => upper(r.oracleMinusNn) < lower(here.oracleMinusNn));
  return {
    rows,
    statement:
      `Real-data meta-training (the oracle) gains ${there} points over NN in the contrast, against ${points(here.oracleMinusNn)} here on ${here.set}: ` +
      (below
        ? 'every contrast interval lies below this run’s, so meta-training on base classes lifts novel classes far more where the backbone did not train on the target domain, the paper’s condition (docs/method.md §0).'
        : 'not every contrast interval lies below this run’s, so these runs do not separate the two domains.'),
  };
}

/** The contrast's oracle row in this run: the oracle − NN of the headline block, in points. */
export function oracleHere(block: BlockRows | undefined): { set: string; oracleMinusNn: PointsDifference } | null {
  const oracle = block?.rows.find((r) => r.method === 'oracle')?.vsNn;
  return block && oracle ? { set: `${block.set} 5-way ${block.shots}-shot`, oracleMinusNn: inPoints(oracle) } : null;
}

/** The report's section: a table of the contrast rows and its sentence. */
export function contrastMarkdown(contrast: Contrast): string[] {
  return [
    '## Contrast: the backbone’s own domain',
    '',
    '| contrast | from | NN | oracle − NN (points) | LoRA Recycle − NN (points) |',
    '|---|---|---:|---:|---:|',
    ...contrast.rows.map(
      (r) =>
        `| ${r.label} | \`${r.file}\` (${r.kind === 'reproduction' ? 'reproduction report' : 'real-data meta-training probe'}) | ${(100 * r.nn).toFixed(2)} % | ${points(r.oracleMinusNn)} | ${r.recycleMinusNn ? points(r.recycleMinusNn) : 'not run'} |`,
    ),
    '',
    contrast.statement,
    '',
  ];
}
