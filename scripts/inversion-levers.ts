/**
 * Which inversion setting makes surrogates that carry a zoo's knowledge? The zoo of a finished
 * standard run (its run folder) is inverted once per lever (a setting of the configuration's
 * `inversion` section; a lever that also changes the `zoo` section, or names a backbone of its own,
 * inverts a zoo of its own, tuned with that change in the lever's folder), at two depths:
 * - `--images-only` on the first `--loras` LoRAs: the inverted images beside real ones (a figure per
 *   lever), the teachers' median target confidence and the within-class feature diversity (mean
 *   pairwise cosine distance of frozen-backbone features) against real images of the same classes;
 * - otherwise also the standard profile's meta-LoRA recipe, meta-trained on the inversion and
 *   selected on the validation episodes as the reproduction does, beside NN on those episodes.
 * Novel (meta-test) classes are never touched. Resumable: a lever measured at a depth is not run
 * again; results of every run gather in reports/inversion-levers-<domain>/levers.{json,md}.
 *   npm run exp:inversion-levers -- [--config configs/glyph-domain.json] [--levers paper-priors,prior-3-tv-90]
 *                                   [--loras 3 --images-only] [--out reports]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../src/errors';
import { writeFileAtomic, writeJsonAtomic } from '../src/io';
import { readJsonFile } from '../src/io/read-json';
import type { VisionTransformer } from '../src/model/vision-transformer';
import { loadRunConfig, pruningSchedule, type BackboneSource, type RunConfig } from '../src/reproduce/config';
import { featureDiversity, median } from '../src/reproduce/diagnostics';
import { meanInkMatch } from '../src/reproduce/ink-match';
import { writeInversionFigure } from '../src/reproduce/inversion-figure';
import { mainSets, mainSpec } from '../src/reproduce/main-set';
import { profileFor } from '../src/reproduce/profiles';
import { reportName } from '../src/reproduce/reproduce';
import { prototypeAccuracy, trainMetaLora } from '../src/reproduce/stages';
import { createPorts } from '../src/reproduce/wiring';
import { disposeSurrogateSets, type RecordedSurrogateSet } from '../src/surrogate/set';
import { readSurrogateSetsWithTeachers } from '../src/surrogate/teachers';
import { commandLine } from './command-line';

/**
 * The levers: each sets the profile's inversion section's image priors and steps (every other
 * setting is the profile's), so a lever means the same whatever the configuration's defaults.
 */
const PAPER = { priorWeight: 0.01, tvWeight: 0, steps: 30, learningRate: 0.25, strokes: 0 }; // the first standard run in B: free pixels
const STROKES_100 = { ...PAPER, strokes: 8, learningRate: 0.01, steps: 100 }; // 8 strokes, 100 Adam steps at lr 0.01 (lever strokes-8-100)
const FINE = { ...STROKES_100, maxStrokeWidth: 0.75 }; // lever strokes-8-100-fine, the standard profile's inversion
const LEVERS: Record<
  string,
  { change: Partial<RunConfig['inversion']>; teachers?: Partial<RunConfig['zoo']>; backbone?: BackboneSource; why: string }
> = {
  'paper-priors': { change: PAPER, why: "w_BN 0.01, no TV, 30 steps: the first standard run's inversion" },
  'diversity-1': { change: { ...PAPER, diversityWeight: 1 }, why: 'the same with the within-class repulsion R_div, w_div 1' },
  'prior-1': { change: { ...PAPER, priorWeight: 1 }, why: 'w_BN 1' },
  'prior-10': { change: { ...PAPER, priorWeight: 10 }, why: 'w_BN 10' },
  'prior-10-tv': { change: { ...PAPER, priorWeight: 10, tvWeight: 0.01 }, why: 'w_BN 10, w_TV 0.01' },
  'prior-10-90': { change: { ...PAPER, priorWeight: 10, steps: 90 }, why: 'w_BN 10, 90 steps' },
  'prior-3-tv-90': { change: { ...PAPER, priorWeight: 3, tvWeight: 0.01, steps: 90 }, why: 'w_BN 3, w_TV 0.01, 90 steps' },
  'crop-0.5': { change: { ...PAPER, minCropScale: 0.5 }, why: 'a random-resized crop (side 0.5–1 of the image) each step' },
  'paper-priors-300': { change: { ...PAPER, steps: 300 }, why: 'the paper priors, 300 steps' },
  'prior-3-tv-300': { change: { ...PAPER, priorWeight: 3, tvWeight: 0.01, steps: 300 }, why: 'w_BN 3, w_TV 0.01, 300 steps' },
  'unadapted-1': {
    change: { ...PAPER, unadaptedWeight: 1 },
    why: "plus w_0 1 on the head's CE over the backbone without the LoRA (the class must show without it)",
  },
  'coarse-16': { change: { ...PAPER, parameterSide: 16 }, why: 'pixels optimised on a 16 × 16 grid, upsampled bilinearly' },
  'coarse-16-unadapted-1': {
    change: { ...PAPER, parameterSide: 16, unadaptedWeight: 1 },
    why: 'a 16 × 16 grid and w_0 1 together',
  },
  'strokes-8-100': {
    change: STROKES_100,
    why: 'images drawn as 8 strokes each (Adam lr 0.01 on their ends and widths), 100 steps',
  },
  'strokes-8-100-no-prior': {
    change: { ...STROKES_100, priorWeight: 0 },
    why: 'the same 100 stroke steps without the BatchNorm prior (w_BN 0), which makes each step cheaper',
  },
  'strokes-8-100-thin': {
    change: { ...STROKES_100, maxStrokeWidth: 1.5 },
    why: 'the same 100 stroke steps with thin strokes: σ at most 1.5 pixels instead of 3 (real glyph strokes are about 1), so that no stroke blurs into a blob',
  },
  'strokes-8-100-fine': {
    change: FINE,
    why: 'the same with σ at most 0.75 pixels: crisp lines about 2 pixels wide, as real glyph strokes are',
  },
  'strokes-4-100-fine': {
    change: { ...FINE, strokes: 4 },
    why: 'thin strokes as strokes-8-100-fine, but 4 per image instead of 8, so that fewer of them cross',
  },
  'fine-ink-0.5': {
    change: { ...FINE, inkWeight: 0.5 },
    why: 'strokes-8-100-fine plus w_ink 0.5 on the mean ink, so that a stroke the class does not need shrinks away',
  },
  'fine-ink-2': { change: { ...FINE, inkWeight: 2 }, why: 'the same with w_ink 2' },
  'pen-2x4-fine': {
    change: { ...FINE, strokes: 2, strokeSegments: 4 },
    why: 'thin strokes drawn as 2 pen strokes of 4 connected segments each (the same 8 segments), as a hand draws a character',
  },
  'pen-3x3-fine': { change: { ...FINE, strokes: 3, strokeSegments: 3 }, why: 'the same with 3 pen strokes of 3 segments' },
  'pen-4x2-fine': { change: { ...FINE, strokes: 4, strokeSegments: 2 }, why: 'the same with 4 pen strokes of 2 segments' },
  'fine-crop-0.5': {
    change: { ...FINE, minCropScale: 0.5 },
    why: 'strokes-8-100-fine with a random-resized crop (side 0.5–1) each step, so that the class must show at every scale',
  },
  'fine-unadapted-1': {
    change: { ...FINE, unadaptedWeight: 1 },
    why: "strokes-8-100-fine plus w_0 1 on the head's CE over the backbone without the LoRA",
  },
  'fine-no-flip': {
    change: { ...FINE, flip: false },
    why: 'strokes-8-100-fine without the mirror jitter: a character and its mirror image are different characters, and the teachers never saw mirrored ones',
  },
  'fine-prior-0.1': {
    change: { ...FINE, priorWeight: 0.1 },
    why: "strokes-8-100-fine with w_BN 0.1 instead of 0.01: more of the shipped prior CNN's BatchNorm statistics, learnt on Latin, digit and Cyrillic glyphs (none of B)",
  },
  'fine-prior-0.3': { change: { ...FINE, priorWeight: 0.3 }, why: 'the same with w_BN 0.3' },
  'fine-prior-1': { change: { ...FINE, priorWeight: 1 }, why: 'the same with w_BN 1' },
  'fine-prior-1-300': {
    change: { ...FINE, priorWeight: 1, steps: 300 },
    why: 'w_BN 1 with 300 steps, so that the teacher can grow sure of what the prior shapes',
  },
  'fine-300': { change: { ...FINE, steps: 300 }, why: 'strokes-8-100-fine with 300 steps instead of 100' },
  'fine-300-ink-2-unadapted-1': {
    change: { ...FINE, steps: 300, inkWeight: 2, unadaptedWeight: 1 },
    why: 'the three settings that read best on 6 LoRAs together: 300 steps, w_ink 2 and w_0 1 (about 6 times the inversion time)',
  },
  'augmented-teachers': {
    change: FINE,
    teachers: { augment: {} },
    why: "the standard inversion of other teachers: a zoo of its own, tuned as the standard zoo is but with shape augmentation each step (shift, zoom, slant, rotation, stroke width), so that a teacher must know more of each character's shape than a few features that tell its 5 classes apart",
  },
  'robust-teachers-1': {
    change: FINE,
    teachers: { adversarial: { epsilon: 1, steps: 3 } },
    why: "the standard inversion of robust teachers: a zoo of its own, tuned as the standard zoo is but adversarially (each step on L2-PGD copies of its images, ε 1 in [0, 1] pixels, 3 steps), since only a robust classifier's gradients are known to draw what a person sees (Santurkar et al. 2019)",
  },
  'robust-teachers-3': {
    change: FINE,
    teachers: { adversarial: { epsilon: 3, steps: 3 } },
    why: 'the same with ε 3',
  },
  'glyph-backbone': {
    change: FINE,
    backbone: { source: 'shipped', name: 'default' },
    why: "the standard inversion of teachers over the default shipped backbone instead of the emoji-only one: a zoo of its own, tuned as the standard zoo is; that backbone also trained on domain A's glyphs (Latin, digits, Cyrillic; no class of B), so it has seen printed characters",
  },
  'glyph-backbone-300': {
    change: { ...FINE, steps: 300 },
    backbone: { source: 'shipped', name: 'default' },
    why: 'the same teachers inverted for 300 steps, since 100 left them unsure',
  },
  'wide-teachers-25': {
    change: FINE,
    teachers: { ways: 25 },
    why: 'the standard inversion of teachers with 25 classes each instead of 5 (a zoo of its own, tuned as the standard zoo is; held-out accuracy among 25), read in groups of 5 classes: a 5-way teacher need only know what tells its 5 classes apart, and the inversion control (reports/inversion-control/) drew legible characters from a CNN only when the target had to beat all its classes',
  },
  'full-teachers': {
    change: FINE,
    teachers: { rank: 8, targets: ['q', 'k', 'v', 'o', 'fc1', 'fc2'] },
    why: "the standard inversion of teachers with more of the backbone to change: a zoo of its own, tuned as the standard zoo is but with a LoRA of rank 8 on all six projections (the meta-LoRA's capacity) instead of rank 4 on q and v; in the inversion control on domain B (reports/inversion-control/control-b.md) a CNN tuned end to end drew closer to its classes than the same CNN frozen with a head",
  },
  'glyph-vae': {
    change: { ...PAPER, steps: 100, learningRate: 0.05, maxStrokeWidth: undefined, generator: 'glyph-vae' },
    why: "images drawn by the decoder of a VAE of domain A's glyphs (Latin, digits, Cyrillic; none of B; assets/glyph-vae) from a 32-number code each, 100 Adam steps at lr 0.05 on the codes: the inversion can draw only glyph-like shapes, a learnt image prior in place of free pixels or strokes",
  },
  'glyph-vae-300': {
    change: { ...PAPER, steps: 300, learningRate: 0.05, maxStrokeWidth: undefined, generator: 'glyph-vae' },
    why: 'the same with 300 steps',
  },
  'wide-teachers-25-glyph-vae': {
    change: { ...PAPER, steps: 100, learningRate: 0.05, maxStrokeWidth: undefined, generator: 'glyph-vae' },
    teachers: { ways: 25 },
    why: "glyph-vae's inversion of wide-teachers-25's teachers: a shape the decoder can draw that beats 24 other classes, not 4, must hold more of its own class's character",
  },
  'wide-full-teachers-25': {
    change: FINE,
    teachers: { ways: 25, rank: 8, targets: ['q', 'k', 'v', 'o', 'fc1', 'fc2'] },
    why: "the standard inversion of teachers with both: 25 classes each and a LoRA of rank 8 on all six projections, the nearest LoRA counterpart of the inversion control's CNN trained from scratch on 126 of B's classes (control-b.md), which read best",
  },
  'fine-copies-4': {
    change: { ...FINE, jitterCopies: 4 },
    why: 'strokes-8-100-fine with the loss over 4 copies of the batch each step, each jittered its own way (an ensemble of augmentations, as Plug-In Inversion does to draw recognisable images from ViTs; 4 times the cost of a step)',
  },
  'fine-copies-4-crop-0.5': {
    change: { ...FINE, jitterCopies: 4, minCropScale: 0.5 },
    why: 'the same with a random-resized crop (side 0.5–1) in every copy',
  },
  'strokes-8-30': {
    change: { ...PAPER, strokes: 8, learningRate: 0.03 },
    why: 'images drawn as 8 strokes each (Adam lr 0.03), 30 steps',
  },
  'imagenet-prior': {
    change: { ...PAPER, prior: 'efficientnet-lite0', priorWeight: 0.001 },
    why: 'R_BN of the ImageNet EfficientNet-Lite0 (at 112 px), w_BN 0.001',
  },
};

interface LeverResult {
  lever: string;
  loras: number; // the first `loras` LoRAs of the zoo were inverted
  inversion: RunConfig['inversion'];
  medianTargetConfidence: number;
  withinClassDiversity: number; // surrogates, mean over the sets
  realWithinClassDiversity: number; // real images of the same classes, as many per class
  nnOnRealPrototypes?: number; // the frozen backbone's nearest real-class prototype is the image's class
  realNnOnRealPrototypes?: number; // the same for the real images, each left out of its own prototype
  inkMatch?: number; // the image's blurred ink is most like its own class's real ink (ink-match.ts)
  realInkMatch?: number; // the same for the real images, each left out of its own class
  teachersHeldOut?: number; // levers with teachers of their own: their mean held-out accuracy (the standard zoo's is in its report)
  figure: string | null; // the lever's images beside real ones (images-only runs)
  validation: { best: { step: number; accuracy: number } | null; last: number | null; nn: number } | null; // null: images only
  seconds: { inversion: number; metaTraining: number | null };
}

/** What the measures read of a set: its images (normalised and in [0, 1]) and their classes. */
interface TaskView {
  images: tf.Tensor4D;
  pixels: tf.Tensor4D;
  targets: readonly number[];
}

const MEASURED_WAYS = 5;

/**
 * The sets as the measures read them: a set of teachers with more than 5 classes cut into groups of
 * 5 consecutive classes (0–4, 5–9, …) with their targets renumbered from 0, so that every column
 * reads among 5 classes (chance 20 %) whatever the teachers' number of classes; a set of at most 5
 * classes is itself. `dispose` frees the tensors of the cut ones.
 */
function fiveWayViews(sets: readonly RecordedSurrogateSet[]): { views: TaskView[]; dispose: () => void } {
  const owned: tf.Tensor[] = [];
  const views = sets.flatMap((set): TaskView[] => {
    const classes = Math.max(...set.targets) + 1;
    if (classes <= MEASURED_WAYS) return [set];
    return Array.from({ length: Math.ceil(classes / MEASURED_WAYS) }, (_, g) => {
      const rows = set.targets.flatMap((t, i) => (Math.floor(t / MEASURED_WAYS) === g ? [i] : []));
      const [images, pixels] = [tf.gather(set.images, rows), tf.gather(set.pixels, rows)] as tf.Tensor4D[];
      owned.push(images, pixels);
      return { images, pixels, targets: rows.map((i) => set.targets[i] - g * MEASURED_WAYS) };
    });
  });
  return { views, dispose: () => tf.dispose(owned) };
}

/** Mean over sets of the within-class diversity of their backbone features (frozen backbone, no adapter). */
function meanWithinClass(backbone: VisionTransformer, sets: readonly TaskView[]): number {
  const values = sets.map((set) =>
    tf.tidy(() => featureDiversity(backbone.forward(set.images).features as tf.Tensor2D, set.targets).withinClass),
  );
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Frozen-backbone features of a set's images as plain rows. */
function featureRows(backbone: VisionTransformer, images: tf.Tensor4D): number[][] {
  return tf.tidy(() => backbone.forward(images).features.arraySync() as number[][]);
}

const squaredDistance = (a: number[], b: number[]) => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0);

/**
 * Does the frozen backbone see each image's class? Nearest class prototype (mean feature of the
 * real images of that class, squared Euclidean) for every image of `sets`, averaged over the sets;
 * for the real sets themselves each image is left out of its own prototype.
 */
function nnOnRealPrototypes(backbone: VisionTransformer, sets: readonly TaskView[], real: readonly TaskView[]): number {
  const accuracies = sets.map((set, s) => {
    const realRows = featureRows(backbone, real[s].images);
    const rows = set === real[s] ? realRows : featureRows(backbone, set.images);
    const classes = Math.max(...real[s].targets) + 1;
    const hits = rows.map((row, i) => {
      const prototypes = Array.from({ length: classes }, (_, c) => {
        const members = realRows.filter((_, j) => real[s].targets[j] === c && !(set === real[s] && j === i));
        return row.map((_, d) => members.reduce((sum, m) => sum + m[d], 0) / members.length);
      });
      const distances = prototypes.map((p) => squaredDistance(row, p));
      return distances.indexOf(Math.min(...distances)) === set.targets[i] ? 1 : 0;
    });
    return hits.reduce((a: number, b: number) => a + b, 0) / hits.length;
  });
  return accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
}

const percent = (x: number) => `${(100 * x).toFixed(2)} %`;
const depthOf = (r: Pick<LeverResult, 'loras' | 'validation'>) => `${r.loras}-loras${r.validation ? '' : '-images'}`;

function markdown(config: string, results: LeverResult[]): string {
  const row = (r: LeverResult) => {
    const v = r.validation;
    const ratio = r.withinClassDiversity / r.realWithinClassDiversity;
    const meta = v
      ? `${v.best ? `${percent(v.best.accuracy)} (step ${v.best.step})` : '–'} | ${v.last === null ? '–' : percent(v.last)} | ${percent(v.nn)}`
      : '– | – | –';
    const figure = r.figure ? `[images](${path.basename(r.figure)})` : '';
    return `| ${r.lever} | ${LEVERS[r.lever]?.why ?? ''} | ${r.loras}${r.teachersHeldOut === undefined ? '' : ` (own teachers, held-out ${percent(r.teachersHeldOut)})`} | ${r.medianTargetConfidence.toFixed(3)} | ${r.withinClassDiversity.toFixed(3)} (${ratio.toFixed(2)} of real) | ${r.nnOnRealPrototypes === undefined ? '–' : `${percent(r.nnOnRealPrototypes)} (real ${percent(r.realNnOnRealPrototypes!)})`} | ${r.inkMatch === undefined ? '–' : `${percent(r.inkMatch)} (real ${percent(r.realInkMatch!)})`} | ${meta} | ${r.seconds.inversion.toFixed(0)}${r.seconds.metaTraining === null ? '' : ` + ${r.seconds.metaTraining.toFixed(0)}`} | ${figure} |`;
  };
  return [
    '# Inversion levers',
    '',
    `Written by \`npm run exp:inversion-levers -- --config ${config} ...\` (scripts/inversion-levers.ts); every row keeps its own`,
    "settings in levers.json. The zoo of the standard profile's run folder is inverted once per lever, with every other setting",
    "the profile's. Rows with a meta-LoRA: the profile's meta-LoRA recipe meta-trained on that inversion and selected on the",
    'validation episodes, beside NN on the same episodes (validation classes; the meta-test classes are never touched). Rows',
    'without: images only, on the first LoRAs of the zoo. Diversity: mean pairwise cosine distance of the frozen',
    "backbone's features between images of one class, averaged over the sets; real: as many real images per class of the",
    'same classes. "Backbone sees the class": how often the frozen backbone (the lever\'s own where it names one) puts an image nearest the prototype (mean',
    'feature) of real images of its own class among the 5 of its task (chance 20 %; real images: each left out of its own',
    'prototype). Teachers with more than 5 classes are read in groups of 5 of their classes, so every column has chance 20 %.',
    '"Ink matches the class": how often the blurred ink of an image is most like (cosine) the summed blurred ink',
    "of its own class's real images among the 5, a model-free stand-in for a person reading the drawing (ink-match.ts; chance",
    '20 %; real images: each left out of its own class). Figures: for each LoRA, real images (top row) and the inverted ones, one column per class.',
    '',
    '| lever | setting | LoRAs | median target confidence | within-class diversity | backbone sees the class | ink matches the class | meta-LoRA validation, best | last | NN validation | seconds (inversion + meta) | figure |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...results.map(row),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = commandLine(
    { config: 'configs/glyph-domain.json', levers: 'paper-priors,prior-3-tv-90', loras: undefined, out: 'reports' },
    ['images-only'],
  );
  const levers = values.levers.split(',');
  for (const lever of levers) {
    if (!LEVERS[lever]) throw new ConfigError(`unknown lever "${lever}"; expected one of ${Object.keys(LEVERS).join(', ')}`);
  }
  const base = loadRunConfig(values.config);
  const config = profileFor('standard', base).config;
  const domain = mainSpec(base).loader; // the folders are named by the main data set, whatever the profile's default
  const reportDir = path.join(values.out, `inversion-levers-${domain}`);
  const workDir = path.join(values.out, `inversion-levers-${domain}-run`);
  const ports = createPorts();
  const backbone = await ports.loadBackbone(config);
  const zoo = await ports.zoo(backbone, config, path.join(values.out, `${reportName('standard', base)}-run`, 'zoo'), {});
  const loras = values.loras === undefined ? zoo.entries.length : Number(values.loras);
  if (!Number.isInteger(loras) || loras < 1 || loras > zoo.entries.length)
    throw new ConfigError(`--loras must be an integer in 1..${zoo.entries.length}, found ${values.loras}`);
  const entries = zoo.entries.slice(0, loras);
  const ev = config.evaluation;
  const validation = values['images-only']
    ? null
    : await ports.episodes(
        mainSets(config).validation,
        { ways: ev.ways, shots: config.metaTraining.shots, queries: ev.queries },
        config.metaTraining.validationEpisodes,
        ev.seed + 1,
      );
  if (!values['images-only'] && !validation) throw new ConfigError('the main domain has no validation split to choose a lever on');
  const nn = validation ? await prototypeAccuracy(backbone, null, validation, config.metaTraining.distance) : null;
  const real: RecordedSurrogateSet[] = [];
  for (const entry of entries) real.push(await ports.realImages(backbone, entry, config));
  const realOfZoo = realMeasures(real);

  const reportFile = path.join(reportDir, 'levers.json');
  const results: LeverResult[] = fs.existsSync(reportFile)
    ? (readJsonFile(reportFile, 'not valid JSON') as { results: LeverResult[] }).results
    : [];
  try {
    for (const lever of levers) {
      const depth = depthOf({ loras, validation: nn === null ? null : { best: null, last: null, nn } });
      const dir = path.join(workDir, lever, depth);
      const resultFile = path.join(dir, 'result.json');
      const measured = fs.existsSync(resultFile)
        ? completed(readJsonFile(resultFile, 'not valid JSON') as LeverResult, dir)
        : await measure(lever, dir);
      writeJsonAtomic(resultFile, measured);
      const at = results.findIndex((r) => r.lever === lever && depthOf(r) === depth);
      if (at >= 0) results[at] = measured;
      else results.push(measured);
      console.log(JSON.stringify(measured));
    }
  } finally {
    disposeSurrogateSets(real);
  }
  writeJsonAtomic(reportFile, { config: values.config, results });
  writeFileAtomic(path.join(reportDir, 'levers.md'), markdown(values.config, results));

  /** A result written before the backbone-sees-the-class or ink-match column: those columns from the sets on disk. */
  function completed(result: LeverResult, dir: string): LeverResult {
    if (result.nnOnRealPrototypes !== undefined && result.inkMatch !== undefined) return result;
    const sets = readSurrogateSetsWithTeachers(path.join(dir, 'surrogates'), entries);
    try {
      return {
        ...result,
        nnOnRealPrototypes: nnOnRealPrototypes(backbone, sets, real),
        realNnOnRealPrototypes: realOfZoo.realNnOnRealPrototypes,
        inkMatch: meanInkMatch(sets, real),
        realInkMatch: realOfZoo.realInkMatch,
      };
    } finally {
      disposeSurrogateSets(sets);
    }
  }

  /**
   * The teachers a lever inverts and the real images of their classes: the first `loras` LoRAs of
   * the standard zoo, or for a lever with `teachers`, a zoo of `loras` LoRAs of its own, tuned with
   * that change to the zoo section in the lever's folder (resumed from there).
   */
  async function teachersOf(lever: string, dir: string, leverBackbone: VisionTransformer) {
    const { teachers: change, backbone: otherBackbone } = LEVERS[lever];
    if (!change && !otherBackbone) return { zoo, entries, real, ...realOfZoo, own: false };
    const zooConfig = { ...config, zoo: { ...config.zoo, ...change, size: loras } };
    const ownZoo = await ports.zoo(leverBackbone, zooConfig, path.join(dir, 'zoo'), {});
    const ownReal: RecordedSurrogateSet[] = [];
    for (const entry of ownZoo.entries) ownReal.push(await ports.realImages(leverBackbone, entry, config));
    return {
      zoo: ownZoo,
      entries: ownZoo.entries,
      real: ownReal,
      ...realMeasures(ownReal, leverBackbone),
      own: true,
    };
  }

  /** What the real images of the inverted classes measure, each left out where that matters: the reference of every column. */
  function realMeasures(sets: readonly RecordedSurrogateSet[], over: VisionTransformer = backbone) {
    const { views, dispose } = fiveWayViews(sets);
    try {
      return {
        realWithinClassDiversity: meanWithinClass(over, views),
        realNnOnRealPrototypes: nnOnRealPrototypes(over, views, views),
        realInkMatch: meanInkMatch(views, views),
      };
    } finally {
      dispose();
    }
  }

  /** A lever with a backbone of its own: that backbone (the caller disposes it); otherwise the standard run's. */
  async function backboneOf(lever: string): Promise<VisionTransformer> {
    const other = LEVERS[lever].backbone;
    return other ? ports.loadBackbone({ ...config, backbone: other }) : backbone;
  }

  async function measure(lever: string, dir: string): Promise<LeverResult> {
    const leverBackbone = await backboneOf(lever);
    try {
      return await measureOver(lever, dir, leverBackbone);
    } finally {
      if (leverBackbone !== backbone) leverBackbone.dispose();
    }
  }

  async function measureOver(lever: string, dir: string, leverBackbone: VisionTransformer): Promise<LeverResult> {
    console.log(`lever ${lever} on ${loras} LoRAs ...`);
    const inversion = { ...config.inversion, ...LEVERS[lever].change };
    const leverConfig = { ...config, inversion, backbone: LEVERS[lever].backbone ?? config.backbone };
    const teachers = await teachersOf(lever, dir, leverBackbone);
    let started = Date.now();
    const sets = await ports.invert(
      leverBackbone,
      teachers.zoo,
      teachers.entries,
      leverConfig,
      pruningSchedule(inversion.pruning),
      path.join(dir, 'surrogates'),
      {},
    );
    const inversionSeconds = (Date.now() - started) / 1000;
    const cutSets = fiveWayViews(sets);
    const cutReal = fiveWayViews(teachers.real);
    try {
      const measured: LeverResult = {
        lever,
        loras,
        inversion,
        medianTargetConfidence: median(sets.flatMap((set) => set.record.targetConfidence)) ?? Number.NaN,
        withinClassDiversity: meanWithinClass(leverBackbone, cutSets.views),
        realWithinClassDiversity: teachers.realWithinClassDiversity,
        nnOnRealPrototypes: nnOnRealPrototypes(leverBackbone, cutSets.views, cutReal.views),
        realNnOnRealPrototypes: teachers.realNnOnRealPrototypes,
        inkMatch: meanInkMatch(cutSets.views, cutReal.views),
        realInkMatch: teachers.realInkMatch,
        ...(teachers.own
          ? { teachersHeldOut: teachers.entries.reduce((s, e) => s + (e.record?.heldOutAccuracy ?? Number.NaN), 0) / loras }
          : {}),
        figure: null,
        validation: null,
        seconds: { inversion: inversionSeconds, metaTraining: null },
      };
      if (!validation || nn === null) {
        const figure = path.join(reportDir, `${lever}.png`);
        writeInversionFigure(
          figure,
          teachers.entries,
          new Map([
            ['oracle', { images: teachers.real }],
            ['lora-recycle', { images: sets }],
          ]),
          loras,
          true,
        );
        return { ...measured, figure: path.relative(values.out, figure) };
      }
      started = Date.now();
      const { metaLora, result } = await trainMetaLora(leverBackbone, sets, leverConfig, validation, path.join(dir, 'meta'), {});
      metaLora.dispose();
      const last = result.validation[result.validation.length - 1];
      const leverNn =
        leverBackbone === backbone ? nn : await prototypeAccuracy(leverBackbone, null, validation, config.metaTraining.distance);
      return {
        ...measured,
        validation: { best: result.best, last: last ? last.accuracy : null, nn: leverNn },
        seconds: { inversion: inversionSeconds, metaTraining: (Date.now() - started) / 1000 },
      };
    } finally {
      cutSets.dispose();
      cutReal.dispose();
      disposeSurrogateSets(sets);
      if (teachers.own) {
        disposeSurrogateSets(teachers.real);
        teachers.zoo.dispose();
      }
    }
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
