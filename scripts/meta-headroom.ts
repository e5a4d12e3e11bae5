/**
 * How much can meta-training a LoRA give on this backbone at all, and how does it depend on the
 * number of base classes it sees? A fresh meta-LoRA (the reproduction's: rank 4 on q and v) is
 * meta-trained with the prototype cross-entropy on episodes of REAL base images (the data the zoo
 * is tuned on) drawn from C seeded base classes, for each C asked; at each checkpoint its accuracy
 * is paired with NN (frozen backbone) on the same fixed episodes of the validation split and of the
 * novel (meta-test) split. Nothing is selected or tuned here: the novel column only measures how far
 * a gain seen on validation transfers to the meta-test categories. Writes reports/meta-headroom.{json,md}.
 *   npm run exp:meta-headroom -- [--classes 52,200,all] [--steps 600] [--every 200] [--episodes 200]
 *                                 [--scale 0.1] [--lr 1e-3] [--seed 0] [--out reports]
 *   npm run exp:meta-headroom -- --render [--out reports]   # only re-writes the .md from the .json
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { LoRA } from '../src/adapters/lora';
import { selectBackend } from '../src/backend';
import { loadShippedBackbone } from '../src/backbone';
import { classesOf, episodeSource, episodeTensors, loadEmojiDataset, sampleEpisodes, type EpisodeList, type ImageDataset } from '../src/data';
import { ConfigError } from '../src/errors';
import { evaluateEpisodeSource, excludesZero, formatPercent, formatPoints, pairedDifference, prototypeLogits, prototypes, type MeanWithInterval } from '../src/evaluation';
import { writeFileAtomic, writeJsonAtomic } from '../src/io';
import { episodeCrossEntropy } from '../src/meta/losses';
import { normalizeImages, type VisionTransformer } from '../src/model';
import { Adam } from '../src/optim/adam';
import { SeededRandom } from '../src/random/seeded-random';
import { commandLine } from './command-line';

const EPISODE = { ways: 5, shots: 1, queries: 5 }; // meta-training episodes, as the reproduction's
const VALIDATION = { ways: 5, shots: 1, queries: 15, seed: 777 };

interface SplitScore { accuracy: number; minusNn: MeanWithInterval }
interface Checkpoint extends SplitScore { step: number; loss: number; novel: SplitScore }
/** Fixed episodes of one split with NN's per-episode accuracies on them. */
interface Scored { name: string; episodes: EpisodeList; nn: number[] }
interface Row { classes: number; classIds: number; seconds: number; curve: Checkpoint[] }

/** `dataset` with only the base classes in `keep` (other splits unchanged). */
function withBaseClasses(dataset: ImageDataset, keep: ReadonlySet<string>): ImageDataset {
  return Object.assign(Object.create(dataset) as ImageDataset, { classes: dataset.classes.filter((c) => c.split !== 'base' || keep.has(c.id)) });
}

async function headroomRow(
  backbone: VisionTransformer, dataset: ImageDataset, classes: number, validation: Scored, novel: Scored,
  options: { steps: number; every: number; scale: number; lr: number; seed: number },
): Promise<Row> {
  const base = classesOf(dataset, 'base');
  const random = new SeededRandom(options.seed);
  const keep = new Set(random.sample(base.length, Math.min(classes, base.length)).map((i) => base[i].id));
  const training = sampleEpisodes(withBaseClasses(dataset, keep), 'base', { ...EPISODE, count: options.steps, seed: options.seed + 1 });
  const lora = LoRA.create(backbone.config, { rank: 4, targets: ['q', 'v'], seed: 1 });
  const adam = new Adam(lora.trainableVariables());
  const score = async (split: Scored): Promise<SplitScore> => {
    const result = await evaluateEpisodeSource((x) => backbone.forward(x, { adapter: lora }).features, episodeSource(dataset, split.episodes, normalizeImages));
    const minusNn = pairedDifference(result.accuracies, split.nn);
    return { accuracy: result.mean, minusNn };
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
      adam.apply(lora.trainableVariables().map((v) => grads[v.name]), options.lr);
      return value.dataSync()[0];
    });
    if ((step + 1) % options.every === 0 || step + 1 === options.steps) {
      const onValidation = await score(validation);
      const onNovel = await score(novel);
      curve.push({ step: step + 1, ...onValidation, novel: onNovel, loss: lossSum / (step + 1 - (curve.at(-1)?.step ?? 0)) });
      lossSum = 0;
      console.log(`C=${keep.size} step ${step + 1}: validation − NN ${points(onValidation.minusNn)}, novel − NN ${points(onNovel.minusNn)} points`);
    }
  }
  adam.dispose();
  lora.dispose();
  return { classes, classIds: keep.size, seconds: (Date.now() - started) / 1000, curve };
}

const points = formatPoints;

type Interval = MeanWithInterval;
interface HeadroomReport {
  settings: Record<string, unknown>; nn: Interval; nnNovel: Interval; rows: Row[]; backend: string; seconds: number; date: string;
  interval?: string; // the 95 % interval rule; absent in reports written before Student's t (1.96·std/√n, 1/n variance)
}

/** The command that writes `report` into `out` again (its settings as options). */
function commandOf(report: HeadroomReport, out: string): string {
  const s = report.settings;
  return `npm run exp:meta-headroom -- --classes ${report.rows.map((r) => r.classIds).join(',')} --steps ${s.steps} --every ${s.every} --episodes ${s.episodes} ` +
    `--scale ${s.scale} --lr ${s.lr} --seed ${s.seed} --out ${out}`;
}

/** Which interval rule a report's numbers use, in words. */
const intervalRule = (report: HeadroomReport) => report.interval ?? "1.96·std/√n with the 1/n variance (written before the project moved to Student's t; at 200 episodes t is about 1 % wider)";

/**
 * Two sentences per row: the checkpoint validation would select (its first best) and the last
 * one, each with its gain over NN on validation and on novel. The novel column is never selected
 * on; its best checkpoint is not reported, since that would be a maximum picked on meta-test.
 */
function reading(rows: Row[]): string[] {
  const excludes = (x: Interval) => (excludesZero(x) ? 'the interval excludes 0' : 'the interval includes 0');
  const sentence = (r: Row, c: Checkpoint, which: string) =>
    `- ${r.classIds} base classes, ${which} (step ${c.step}): ${points(c.minusNn)} points over NN on validation (${excludes(c.minusNn)}), ` +
    `${points(c.novel.minusNn)} points on novel (${excludes(c.novel.minusNn)}).`;
  return rows.flatMap((r) => {
    const best = r.curve.reduce((a, c) => (c.accuracy > a.accuracy ? c : a));
    const last = r.curve[r.curve.length - 1];
    return best === last ? [sentence(r, last, 'last checkpoint, also the one validation selects')]
      : [sentence(r, best, 'the checkpoint validation selects'), sentence(r, last, 'last checkpoint')];
  });
}

function markdown(report: HeadroomReport, out: string): string {
  const steps = report.rows[0]?.curve.map((c) => c.step) ?? [];
  const lines = [
    '# Meta-training headroom on real base episodes',
    '',
    `${report.date}, backend ${report.backend}, ${report.seconds.toFixed(0)} s. Written by \`${commandOf(report, out)}\` (scripts/meta-headroom.ts; \`--render\` re-writes this page from the JSON). Intervals: ${intervalRule(report)}.`,
    '',
    'A fresh meta-LoRA (rank 4 on q and v, as the reproduction\'s) meta-trained with the prototype cross-entropy',
    `(softmax(−s·d), s = ${report.settings.scale}, Adam ${report.settings.lr}, horizontal flips) on 5-way 1-shot 5-query episodes of **real**`,
    'images of C seeded emoji base classes: the data the zoo\'s LoRAs are tuned on, without any LoRA. It measures what',
    'meta-training on real base data adds to this backbone at this budget (the oracle row of the reproduction does the',
    'same through the zoo\'s teachers), and how that depends on how many base classes the',
    `episodes cover (a zoo of Z five-way LoRAs covers at most 5·Z classes). Each checkpoint is scored on ${report.settings.episodes} fixed`,
    `5-way 1-shot 15-query episodes (seed ${VALIDATION.seed}) of the validation split (Activities), where NN (frozen backbone) scores`,
    `${formatPercent(report.nn)} %, and of the novel split (Animals & Nature, Food & Drink: the meta-test categories), where NN scores`,
    `${formatPercent(report.nnNovel)} %, each paired with NN on the same episodes. Nothing is selected on either:`,
    'the novel rows only measure how far a gain seen on validation reaches the meta-test categories.',
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

async function main(): Promise<void> {
  const { values } = commandLine({ classes: '52,200,all', steps: '600', every: '200', episodes: '200', scale: '0.1', lr: '1e-3', seed: '0', out: 'reports' }, ['render']);
  if (values.render) {
    const report = JSON.parse(fs.readFileSync(path.join(values.out, 'meta-headroom.json'), 'utf8')) as HeadroomReport;
    writeFileAtomic(path.join(values.out, 'meta-headroom.md'), markdown(report, values.out));
    return;
  }
  const steps = Number(values.steps);
  const every = Number(values.every);
  const count = Number(values.episodes);
  const scale = Number(values.scale);
  const lr = Number(values.lr);
  const seed = Number(values.seed);
  for (const [name, value] of Object.entries({ steps, every, episodes: count })) {
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(`--${name} must be a positive integer, found ${value}`);
  }
  if (!(scale > 0) || !(lr > 0)) throw new ConfigError(`--scale and --lr must be positive numbers, found ${values.scale} and ${values.lr}`);
  const backend = await selectBackend();
  const started = Date.now();
  const backbone = loadShippedBackbone();
  const emoji = await loadEmojiDataset();
  const baseCount = classesOf(emoji, 'base').length;
  const classCounts = values.classes.split(',').map((c) => (c === 'all' ? baseCount : Number(c)));
  if (classCounts.some((c) => !Number.isInteger(c) || c < EPISODE.ways)) throw new ConfigError(`--classes must list integers ≥ ${EPISODE.ways} or "all", found ${values.classes}`);
  const scored = async (split: 'validation' | 'novel') => {
    const episodes = sampleEpisodes(emoji, split, { ...VALIDATION, count });
    const nn = await evaluateEpisodeSource((x) => backbone.forward(x).features, episodeSource(emoji, episodes, normalizeImages));
    console.log(`NN on ${split}: ${formatPercent(nn)} %`);
    return { scored: { name: split, episodes, nn: nn.accuracies }, interval: { mean: nn.mean, ci95: nn.ci95, n: nn.episodes } };
  };
  const validation = await scored('validation');
  const novel = await scored('novel');
  const rows: Row[] = [];
  for (const classes of classCounts) rows.push(await headroomRow(backbone, emoji, classes, validation.scored, novel.scored, { steps, every, scale, lr, seed }));
  backbone.dispose();
  const report = {
    date: new Date().toISOString(), backend: backend.name, seconds: (Date.now() - started) / 1000,
    settings: { steps, every, episodes: count, scale, lr, seed, episode: EPISODE, validation: VALIDATION, lora: { rank: 4, targets: ['q', 'v'] } },
    nn: validation.interval, nnNovel: novel.interval, rows, interval: "Student's t, t(0.975, n − 1)·s/√n",
  };
  writeJsonAtomic(path.join(values.out, 'meta-headroom.json'), report);
  writeFileAtomic(path.join(values.out, 'meta-headroom.md'), markdown(report, values.out));
  console.log(`wrote ${path.join(values.out, 'meta-headroom.{json,md}')}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
