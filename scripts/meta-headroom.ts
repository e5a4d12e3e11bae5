/**
 * How much can meta-training a LoRA give on this backbone at all, and how does it depend on the
 * number of base classes it sees? A fresh meta-LoRA (default: the reproduction's, rank 4 on q and
 * v) is meta-trained with the prototype cross-entropy on episodes of REAL base images (the data a
 * zoo is tuned on) drawn from C seeded base classes, for each C asked; at each checkpoint its
 * accuracy is paired with NN (frozen backbone) on the same fixed episodes of the validation split
 * and of the novel (meta-test) split. Each row's checkpoint is selected on validation only (its
 * first best accuracy); the novel column is never selected on, it measures how far a gain seen on
 * validation transfers to the meta-test classes. The JSON keeps every per-episode correct count
 * (NN's, and the meta-LoRA's at every checkpoint) so that each paired interval can be recomputed.
 * Writes reports/meta-headroom.{json,md}.
 *   npm run exp:meta-headroom -- [--data emoji|emoji:random|glyph-domain|glyph-domain:by-script] [--backbone default|emoji-only] [--classes 52,200,all]
 *                                 [--steps 600] [--every 200] [--episodes 200] [--rank 4] [--targets q,v]
 *                                 [--scale 0.1] [--lr 1e-3] [--seed 0] [--out reports]
 *   npm run exp:meta-headroom -- --render [--out reports]   # only re-writes the .md from the .json
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { LoRA } from '../src/adapters/lora';
import { selectBackend } from '../src/backend';
import { loadShippedBackbone, SHIPPED_BACKBONES, type ShippedBackboneName } from '../src/backbone';
import {
  assignDomainSplits,
  classesOf,
  DOMAIN_PROPORTIONS,
  episodeSource,
  episodeTensors,
  loadEmojiDataset,
  loadGlyphDomainDataset,
  sampleEpisodes,
  type EpisodeList,
  type ImageDataset,
} from '../src/data';
import { ConfigError } from '../src/errors';
import {
  evaluateEpisodeSource,
  excludesZero,
  formatPercent,
  formatPoints,
  pairedDifference,
  prototypeLogits,
  prototypes,
  type MeanWithInterval,
} from '../src/evaluation';
import { writeFileAtomic, writeJsonAtomic } from '../src/io';
import { episodeCrossEntropy } from '../src/meta/losses';
import { normalizeImages, type VisionTransformer } from '../src/model';
import { PROJECTION_NAMES, type ProjectionName } from '../src/model/weights';
import { Adam } from '../src/optim/adam';
import { SeededRandom } from '../src/random/seeded-random';
import { correctCounts } from '../src/reproduce/episode-scores';
import { commandLine } from './command-line';

const EPISODE = { ways: 5, shots: 1, queries: 5 }; // meta-training episodes, as the reproduction's
const VALIDATION = { ways: 5, shots: 1, queries: 15, seed: 777 };

/** The data sets `--data` names: how to load each, and how the page names it and its categories. */
const DATA = {
  emoji: {
    load: () => loadEmojiDataset(),
    seeded: 'emoji base classes',
    tunedOn: "the data the zoo's LoRAs are tuned on",
    unit: 'categories',
  },
  'emoji:random': {
    load: async () => randomlySplitEmoji(await loadEmojiDataset()),
    seeded: 'emoji base classes (the emoji outside the pretrain categories, split at random by class)',
    tunedOn: "the split a zoo's LoRAs would be tuned on under that split",
    unit: 'categories',
  },
  'glyph-domain': {
    load: () => loadGlyphDomainDataset(),
    unit: 'scripts',
    seeded: 'base classes of domain B (printed characters of non-Latin scripts, split at random by class)',
    tunedOn: "the split a zoo's LoRAs on domain B are tuned on",
  },
  'glyph-domain:by-script': {
    load: () => loadGlyphDomainDataset({ split: 'by-script' }),
    unit: 'scripts',
    seeded: 'base classes of domain B (printed characters of non-Latin scripts, split by script)',
    tunedOn: "the split a zoo's LoRAs on domain B are tuned on",
  },
} as const;
type DataName = keyof typeof DATA;

/** A split of the data: its class count and its classes' categories (emoji groups, scripts) in the data's order. */
interface SplitInfo {
  classes?: number;
  categories: string[];
} // classes: absent in reports written before --data
type Splits = Record<'base' | 'validation' | 'novel', SplitInfo>;
/** The emoji splits, for reports written before --data (they ran on emoji only). */
const EMOJI_SPLITS_BEFORE_DATA: Splits = {
  base: { categories: ['Travel & Places', 'Objects'] },
  validation: { categories: ['Activities'] },
  novel: { categories: ['Animals & Nature', 'Food & Drink'] },
};

function splitsOf(dataset: ImageDataset): Splits {
  const info = (split: keyof Splits): SplitInfo => {
    const classes = classesOf(dataset, split);
    return { classes: classes.length, categories: [...new Set(classes.map((c) => c.category ?? '(none)'))] };
  };
  return { base: info('base'), validation: info('validation'), novel: info('novel') };
}

/** Per-episode correct counts on a split's fixed episodes (accuracy = correct / queries). */
interface SplitScore {
  accuracy: number;
  minusNn: MeanWithInterval;
  correct?: number[];
} // correct: absent in reports written before it
interface Checkpoint extends SplitScore {
  step: number;
  loss: number;
  novel: SplitScore;
}
/** Fixed episodes of one split with NN's per-episode accuracies on them. */
interface Scored {
  name: string;
  episodes: EpisodeList;
  nn: number[];
  queries: number[];
}
interface Row {
  classes: number;
  classIds: number;
  seconds: number;
  selectedStep?: number;
  curve: Checkpoint[];
} // selectedStep: absent in reports written before it
interface LoraSettings {
  rank: number;
  targets: ProjectionName[];
}

/**
 * The emoji with the classes outside the backbone's pretrain categories re-split at random by
 * class, 60/15/25 % base/validation/novel with seed 1, as domain B is (the paper's benchmarks
 * split so); the pretrain classes stay pretrain.
 */
function randomlySplitEmoji(emoji: ImageDataset): ImageDataset {
  const others = emoji.classes.filter((c) => c.split !== 'pretrain');
  const resplit = new Map(assignDomainSplits(others, 'random', DOMAIN_PROPORTIONS, 1).map((c) => [c.id, c]));
  return Object.assign(Object.create(emoji) as ImageDataset, {
    classes: emoji.classes.map((c) => resplit.get(c.id) ?? c),
  });
}

/** `dataset` with only the base classes in `keep` (other splits unchanged). */
function withBaseClasses(dataset: ImageDataset, keep: ReadonlySet<string>): ImageDataset {
  return Object.assign(Object.create(dataset) as ImageDataset, {
    classes: dataset.classes.filter((c) => c.split !== 'base' || keep.has(c.id)),
  });
}

/** The checkpoint validation selects: the first with the best validation accuracy (novel is never looked at). */
const selectedOf = (curve: readonly Checkpoint[]): Checkpoint => curve.reduce((a, c) => (c.accuracy > a.accuracy ? c : a));

async function headroomRow(
  backbone: VisionTransformer,
  dataset: ImageDataset,
  classes: number,
  validation: Scored,
  novel: Scored,
  options: { steps: number; every: number; scale: number; lr: number; seed: number; lora: LoraSettings },
): Promise<Row> {
  const base = classesOf(dataset, 'base');
  const random = new SeededRandom(options.seed);
  const keep = new Set(random.sample(base.length, Math.min(classes, base.length)).map((i) => base[i].id));
  const training = sampleEpisodes(withBaseClasses(dataset, keep), 'base', { ...EPISODE, count: options.steps, seed: options.seed + 1 });
  const lora = LoRA.create(backbone.config, { rank: options.lora.rank, targets: options.lora.targets, seed: 1 });
  const adam = new Adam(lora.trainableVariables());
  const score = async (split: Scored): Promise<SplitScore> => {
    const result = await evaluateEpisodeSource(
      (x) => backbone.forward(x, { adapter: lora }).features,
      episodeSource(dataset, split.episodes, normalizeImages),
    );
    const minusNn = pairedDifference(result.accuracies, split.nn);
    return { accuracy: result.mean, minusNn, correct: correctCounts(result.accuracies, split.queries) };
  };
  const curve: Checkpoint[] = [];
  const started = Date.now();
  let lossSum = 0;
  for (let step = 0; step < options.steps; step++) {
    const episode = training.episodes[step];
    const flips = [...episode.supportImages, ...episode.queryImages].map(() => random.next() < 0.5);
    lossSum += tf.tidy(() => {
      const tensors = episodeTensors(dataset, episode, normalizeImages);
      const images = tf.concat([tensors.support, tensors.query]) as tf.Tensor4D; // [N·K + N·Q, H, W, C]
      const flipped = tf.where(tf.tensor4d(flips, [flips.length, 1, 1, 1], 'bool'), tf.reverse(images, 2), images) as tf.Tensor4D;
      const supportCount = episode.supportLabels.length;
      const { value, grads } = tf.variableGrads(() => {
        const features = backbone.forward(flipped, { adapter: lora }).features;
        const protos = prototypes(tf.slice(features, [0, 0], [supportCount, -1]), episode.supportLabels, EPISODE.ways);
        const logits = tf.mul(prototypeLogits(tf.slice(features, [supportCount, 0], [-1, -1]), protos), options.scale) as tf.Tensor2D;
        return episodeCrossEntropy(logits, tf.tensor1d(episode.queryLabels, 'int32'));
      }, lora.trainableVariables());
      adam.apply(
        lora.trainableVariables().map((v) => grads[v.name]),
        options.lr,
      );
      return value.dataSync()[0];
    });
    if ((step + 1) % options.every === 0 || step + 1 === options.steps) {
      const onValidation = await score(validation);
      const onNovel = await score(novel);
      curve.push({ step: step + 1, ...onValidation, novel: onNovel, loss: lossSum / (step + 1 - (curve.at(-1)?.step ?? 0)) });
      lossSum = 0;
      console.log(
        `C=${keep.size} step ${step + 1}: validation − NN ${points(onValidation.minusNn)}, novel − NN ${points(onNovel.minusNn)} points`,
      );
    }
  }
  adam.dispose();
  lora.dispose();
  return { classes, classIds: keep.size, seconds: (Date.now() - started) / 1000, selectedStep: selectedOf(curve).step, curve };
}

const points = formatPoints;

type Interval = MeanWithInterval;
/** A split's fixed episodes: their query counts and NN's correct counts on them, per episode. */
interface EpisodeCounts {
  queries: number[];
  nn: number[];
}
interface HeadroomReport {
  settings: Record<string, unknown>;
  nn: Interval;
  nnNovel: Interval;
  rows: Row[];
  backend: string;
  seconds: number;
  date: string;
  interval?: string; // the 95 % interval rule; absent in reports written before Student's t (1.96·std/√n, 1/n variance)
  splits?: Splits; // absent in reports written before --data: emoji's
  episodes?: { validation: EpisodeCounts; novel: EpisodeCounts }; // absent in reports written before per-episode counts
  command?: string;
}

/** The data, meta-LoRA and splits a report ran on; reports written before these settings ran on emoji with rank 4 on q and v. */
function ranOn(report: HeadroomReport): { data: DataName; lora: LoraSettings; splits: Splits } {
  const s = report.settings as { data?: DataName; lora?: Partial<LoraSettings> };
  return {
    data: s.data ?? 'emoji',
    lora: { rank: s.lora?.rank ?? 4, targets: s.lora?.targets ?? ['q', 'v'] },
    splits: report.splits ?? EMOJI_SPLITS_BEFORE_DATA,
  };
}

/** The command that writes `report` into `out` again (its settings as options). */
function commandOf(report: HeadroomReport, out: string): string {
  const s = report.settings;
  const { data, lora } = ranOn(report);
  const backbone = (report.settings as { backbone?: string }).backbone;
  return (
    `npm run exp:meta-headroom -- --data ${data}${backbone ? ` --backbone ${backbone}` : ''} --classes ${report.rows.map((r) => r.classIds).join(',')} --steps ${s.steps} --every ${s.every} --episodes ${s.episodes} ` +
    `--rank ${lora.rank} --targets ${lora.targets.join(',')} --scale ${s.scale} --lr ${s.lr} --seed ${s.seed} --out ${out}`
  );
}

/** Which interval rule a report's numbers use, in words. */
const intervalRule = (report: HeadroomReport) =>
  report.interval ??
  "1.96·std/√n with the 1/n variance (written before the project moved to Student's t; at 200 episodes t is about 1 % wider)";

/**
 * Two sentences per row: the checkpoint validation selects (its first best: the row's result) and
 * the last one, each with its gain over NN on validation and on novel. The novel column is never
 * selected on; its best checkpoint is not reported, since that would be a maximum picked on meta-test.
 */
function reading(rows: Row[]): string[] {
  const excludes = (x: Interval) => (excludesZero(x) ? 'the interval excludes 0' : 'the interval includes 0');
  const sentence = (r: Row, c: Checkpoint, which: string) =>
    `- ${r.classIds} base classes, ${which} (step ${c.step}): ${points(c.minusNn)} points over NN on validation (${excludes(c.minusNn)}), ` +
    `${points(c.novel.minusNn)} points on novel (${excludes(c.novel.minusNn)}).`;
  return rows.flatMap((r) => {
    const best = r.curve.find((c) => c.step === r.selectedStep) ?? selectedOf(r.curve);
    const last = r.curve[r.curve.length - 1];
    return best === last
      ? [sentence(r, last, 'last checkpoint, also the one validation selects')]
      : [sentence(r, best, 'the checkpoint validation selects'), sentence(r, last, 'last checkpoint')];
  });
}

/** "q and v", "q, k, v, o, fc1 and fc2". */
const listed = (names: readonly string[]) => (names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`);

/**
 * How the page names a split: its categories where none is also a base category (emoji's groups,
 * the by-script split's scripts), else its class count (a random split by class), with the word
 * for what the meta-test holds.
 */
function splitPhrase(splits: Splits, split: 'validation' | 'novel', unit: string): { names: string; held: string } {
  const base = new Set(splits.base.categories);
  const s = splits[split];
  if (!s.categories.some((c) => base.has(c))) return { names: s.categories.join(', '), held: unit };
  return { names: `${s.classes} classes drawn at random across the same ${s.categories.length} ${unit} as base`, held: 'classes' };
}

function markdown(report: HeadroomReport, out: string): string {
  const steps = report.rows[0]?.curve.map((c) => c.step) ?? [];
  const { data, lora, splits } = ranOn(report);
  const spec = DATA[data];
  const validation = splitPhrase(splits, 'validation', spec.unit);
  const novel = splitPhrase(splits, 'novel', spec.unit);
  const backbone = (report.settings as { backbone?: string }).backbone ?? 'default';
  const loraPhrase =
    lora.rank === 4 && lora.targets.join(',') === 'q,v'
      ? "rank 4 on q and v, as the reproduction's"
      : `rank ${lora.rank} on ${listed(lora.targets)}; the reproduction's is rank 4 on q and v`;
  const lines = [
    '# Meta-training headroom on real base episodes',
    '',
    `${report.date}, backend ${report.backend}, ${report.seconds.toFixed(0)} s, shipped backbone "${backbone}" (src/backbone/shipped.ts). Written by \`${commandOf(report, out)}\` (scripts/meta-headroom.ts; \`--render\` re-writes this page from the JSON). Intervals: ${intervalRule(report)}.`,
    '',
    `A fresh meta-LoRA (${loraPhrase}) meta-trained with the prototype cross-entropy`,
    `(softmax(−s·d), s = ${report.settings.scale}, Adam ${report.settings.lr}, horizontal flips) on 5-way 1-shot 5-query episodes of **real**`,
    `images of C seeded ${spec.seeded}: ${spec.tunedOn}, without any LoRA. It measures what`,
    'meta-training on real base data adds to this backbone at this budget (the oracle row of the reproduction does the',
    "same through the zoo's teachers), and how that depends on how many base classes the",
    `episodes cover (a zoo of Z five-way LoRAs covers at most 5·Z classes). Each checkpoint is scored on ${report.settings.episodes} fixed`,
    `5-way 1-shot 15-query episodes (seed ${VALIDATION.seed}) of the validation split (${validation.names}), where NN (frozen backbone) scores`,
    `${formatPercent(report.nn)} %, and of the novel split (${novel.names}: the meta-test ${novel.held}), where NN scores`,
    `${formatPercent(report.nnNovel)} %, each paired with NN on the same episodes. Each row's checkpoint is selected on validation only`,
    "(its first best accuracy; the novel difference there is the row's result, below); novel is never selected on: the novel rows only",
    `measure how far a gain seen on validation reaches the meta-test ${novel.held}.`,
    '',
    `| base classes C | split | ${steps.map((s) => `step ${s}`).join(' | ')} | seconds |`,
    `|---:|---|${steps.map(() => '---:').join('|')}|---:|`,
    ...report.rows.flatMap((r) => [
      `| ${r.classIds} | validation | ${r.curve.map((c) => `${(100 * c.accuracy).toFixed(2)} (${points(c.minusNn)})`).join(' | ')} | ${r.seconds.toFixed(0)} |`,
      `| | novel | ${r.curve.map((c) => `${(100 * c.novel.accuracy).toFixed(2)} (${points(c.novel.minusNn)})`).join(' | ')} | |`,
    ]),
    '',
    'Cells: accuracy in %, then the paired difference to NN in points with its 95 % interval.',
    '',
    ...reading(report.rows),
  ];
  return `${lines.join('\n')}\n`;
}

/** `--targets q,v`: projection names LoRA.create accepts, each once. */
function targetsOption(text: string): ProjectionName[] {
  const targets = text.split(',');
  if (targets.some((t) => !PROJECTION_NAMES.includes(t as ProjectionName)) || new Set(targets).size !== targets.length) {
    throw new ConfigError(`--targets must list distinct projections among ${PROJECTION_NAMES.join(', ')}, found ${text}`);
  }
  return targets as ProjectionName[];
}

async function main(): Promise<void> {
  const { values } = commandLine(
    {
      data: 'emoji',
      backbone: 'default',
      classes: '52,200,all',
      steps: '600',
      every: '200',
      episodes: '200',
      rank: '4',
      targets: 'q,v',
      scale: '0.1',
      lr: '1e-3',
      seed: '0',
      out: 'reports',
    },
    ['render'],
  );
  if (values.render) {
    const report = JSON.parse(fs.readFileSync(path.join(values.out, 'meta-headroom.json'), 'utf8')) as HeadroomReport;
    writeFileAtomic(path.join(values.out, 'meta-headroom.md'), markdown(report, values.out));
    return;
  }
  if (!(values.data in DATA)) throw new ConfigError(`--data must be one of ${Object.keys(DATA).join(', ')}, found ${values.data}`);
  const data = values.data as DataName;
  const steps = Number(values.steps);
  const every = Number(values.every);
  const count = Number(values.episodes);
  const rank = Number(values.rank);
  const targets = targetsOption(values.targets);
  const scale = Number(values.scale);
  const lr = Number(values.lr);
  const seed = Number(values.seed);
  for (const [name, value] of Object.entries({ steps, every, episodes: count, rank })) {
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(`--${name} must be a positive integer, found ${value}`);
  }
  if (!(scale > 0) || !(lr > 0)) throw new ConfigError(`--scale and --lr must be positive numbers, found ${values.scale} and ${values.lr}`);
  const backend = await selectBackend();
  const started = Date.now();
  if (!(values.backbone in SHIPPED_BACKBONES))
    throw new ConfigError(`--backbone must be one of ${Object.keys(SHIPPED_BACKBONES).join(', ')}, found ${values.backbone}`);
  const backboneName = values.backbone as ShippedBackboneName;
  const backbone = loadShippedBackbone(backboneName);
  const dataset = await DATA[data].load();
  const splits = splitsOf(dataset);
  const baseCount = classesOf(dataset, 'base').length;
  const classCounts = values.classes.split(',').map((c) => (c === 'all' ? baseCount : Number(c)));
  if (classCounts.some((c) => !Number.isInteger(c) || c < EPISODE.ways))
    throw new ConfigError(`--classes must list integers ≥ ${EPISODE.ways} or "all", found ${values.classes}`);
  const scored = async (split: 'validation' | 'novel') => {
    const episodes = sampleEpisodes(dataset, split, { ...VALIDATION, count });
    const queries = episodes.episodes.map((e) => e.queriesPerClass.reduce((a, b) => a + b, 0));
    const nn = await evaluateEpisodeSource((x) => backbone.forward(x).features, episodeSource(dataset, episodes, normalizeImages));
    console.log(`NN on ${split}: ${formatPercent(nn)} %`);
    return {
      scored: { name: split, episodes, nn: nn.accuracies, queries },
      interval: { mean: nn.mean, ci95: nn.ci95, n: nn.episodes },
      counts: { queries, nn: correctCounts(nn.accuracies, queries) },
    };
  };
  const validation = await scored('validation');
  const novel = await scored('novel');
  const rows: Row[] = [];
  const lora = { rank, targets };
  for (const classes of classCounts)
    rows.push(await headroomRow(backbone, dataset, classes, validation.scored, novel.scored, { steps, every, scale, lr, seed, lora }));
  backbone.dispose();
  const report: HeadroomReport = {
    date: new Date().toISOString(),
    backend: backend.name,
    seconds: (Date.now() - started) / 1000,
    settings: {
      data,
      ...(backboneName === 'default' ? {} : { backbone: backboneName }),
      steps,
      every,
      episodes: count,
      scale,
      lr,
      seed,
      episode: EPISODE,
      validation: VALIDATION,
      lora,
    },
    splits,
    nn: validation.interval,
    nnNovel: novel.interval,
    rows,
    interval: "Student's t, t(0.975, n − 1)·s/√n",
    episodes: { validation: validation.counts, novel: novel.counts },
  };
  report.command = commandOf(report, values.out);
  writeJsonAtomic(path.join(values.out, 'meta-headroom.json'), report);
  writeFileAtomic(path.join(values.out, 'meta-headroom.md'), markdown(report, values.out));
  console.log(`wrote ${path.join(values.out, 'meta-headroom.{json,md}')}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
