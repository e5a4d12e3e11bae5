/**
 * A control for item 5 of issue #24 (surrogates a person recognises as their class): does the
 * standard inversion draw a character when the classifier it inverts knows characters by their
 * shape? On 5-way tasks of domain A's glyph classes (Latin, digits, Cyrillic: none of B) three
 * classifiers are inverted with the standard profile's canvas, steps, jitter and w_BN (8 strokes,
 * σ ≤ 0.75 px, 100 Adam steps at lr 0.01, a roll of up to H/8 and a mirror with p 0.5, w_BN 0.01 on
 * the shipped prior CNN's statistics):
 * - the shipped prior CNN (src/prior), trained from scratch as a 126-way classifier on those
 *   classes: the loss is the cross-entropy over the task's 5 logits, or over all 126;
 * - the default backbone, which trained on those classes too, with a 126-way linear head fitted on
 *   its frozen features of the same training renderings (the ViT's counterpart of the CNN): the
 *   same two losses;
 * - a teacher as the zoo's (configs/glyph-domain.json: a LoRA of rank 4 on q, v and a head, 60
 *   Adam steps at lr 0.003 on 20 renderings per class) over the emoji-only backbone, which never
 *   saw a glyph (B's runs use it), inverted by invertLora;
 * - the same teacher recipe over the default backbone, which trained on these very classes.
 * With `--set b` the tasks are 5-way tasks of domain B's base classes (the zoo's; none of the
 * shipped backbones or of the CNN trained on them), and the rows ask whether the CNN's shape-following
 * gradients carry over to classes it never saw: the CNN frozen with a linear head on the task, the
 * CNN tuned end to end on it (20 renderings per class, the rest held out, as the LoRA teacher), the
 * zoo's LoRA teacher over the emoji-only backbone, and a CNN of the same architecture trained from
 * scratch on 126 of B's base classes (the tasks' among them), as the prior was on A's 126 glyph
 * classes, over the task's 5 classes and over all 126; written to control-b.{json,md,png}.
 * With `--set stem` the tasks are set A's, and the rows ask whether the ViT's patch embedding is what
 * keeps its gradients from drawing a character: the tiny ViT (TINY_VIT) trained from scratch on the
 * prior CNN's training renderings of A's 126 glyph classes, once with CLIP's patch embedding and once
 * with an early-convolution stem (ViTConfig.convStem), beside the prior CNN itself; written to
 * control-stem.{json,md,png}.
 * The surrogates are read with the lever probe's ink match (src/reproduce/ink-match.ts) against all
 * renderings of their classes. Writes reports/inversion-control/control.{json,md} and control.png
 * (per task: real renderings, then each classifier's inverted images, one column per class).
 *   npm run exp:inversion-control -- [--set a|b|stem] [--tasks 6] [--images 6] [--seed 2025] [--out reports]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import {
  backboneAccuracy,
  holdoutSplit,
  loadShippedBackbone,
  pretrainBackbone,
  randomPatchPositions,
  saveBackbone,
  type HoldoutSplit,
} from '../src/backbone';
import { classesOf, type ImageDataset } from '../src/data/dataset';
import { loadGlyphDataset } from '../src/data/glyphs';
import { loadGlyphDomainDataset } from '../src/data/glyph-domain';
import { encodePng } from '../src/display';
import { ConfigError } from '../src/errors';
import { strokeCanvas } from '../src/inversion/canvas';
import { invertLora } from '../src/inversion/invert-lora';
import { applyJitters, drawJitter } from '../src/inversion/jitter';
import { inversionTargets } from '../src/inversion/options';
import { loadVisionTower, readSafetensorsTensors, writeFileAtomic, writeJsonAtomic, writeSafetensors } from '../src/io';
import { linear } from '../src/ops';
import { denormalizeImages, LinearHead, normalizeImages, patchCount, TINY_VIT, type ViTConfig } from '../src/model';
import { VisionTransformer } from '../src/model/vision-transformer';
import { mapTree, variablesOf } from '../src/model/tensor-tree';
import { Adam } from '../src/optim/adam';
import { bnPriorLoss, loadShippedPrior, PRIOR_CNN, PriorCnn, trainPrior } from '../src/prior';
import { DEFAULT_AUGMENT } from '../src/training/augment';
import { optimiserOptions } from './training-recipe';
import { SeededRandom } from '../src/random/seeded-random';
import { median } from '../src/reproduce/diagnostics';
import { inkTemplateMatch } from '../src/reproduce/ink-match';
import type { LabelledImages } from '../src/training/supervised';
import { pretuneLora } from '../src/zoo/pretune';
import { commandLine } from './command-line';

const RECIPE = { ways: 5, strokes: 8, maxStrokeWidth: 0.75, steps: 100, learningRate: 0.01, priorWeight: 0.01, maxShift: 1 / 8 };
const TEACHER = { rank: 4, steps: 60, learningRate: 0.003, shots: 20 }; // configs/glyph-domain.json's zoo recipe
const PROBE_STEPS = 300;
const KINDS_A = [
  "prior CNN, trained on these classes: cross-entropy over the task's 5 classes",
  'the same CNN: cross-entropy over all its 126 classes',
  "the default backbone (trained on these classes) with a 126-way linear head on its frozen features: over the task's 5",
  'the same ViT and head: cross-entropy over all 126 classes',
  'LoRA teacher over the emoji-only backbone',
  'LoRA teacher over the default backbone',
] as const;
const KINDS_B = [
  "prior CNN (trained on domain A's glyphs), frozen, with a 5-way linear head fitted on its pooled features of the task's renderings",
  "the same CNN tuned end to end on the task's renderings (its BatchNorm statistics kept)",
  "LoRA teacher over the emoji-only backbone (the zoo's recipe)",
  "a CNN trained from scratch on 126 of B's base classes (these among them; at most 20 renderings each): over the task's 5",
  'the same CNN: cross-entropy over all its 126 classes',
] as const;
/** The ViTs of set stem: the backbone recipe (scripts/train-backbone.ts) without flips or token dropping, for STEM_EPOCHS. */
const STEM_VITS: { conv: number[] | null; name: string }[] = [
  { conv: null, name: "the tiny ViT with CLIP's patch embedding, trained from scratch on the CNN's renderings of these 126 classes" },
  {
    conv: [64, 128],
    name: 'the same ViT with a conv stem in place of the patch embedding (3×3 convolutions of 64 and 128 channels, each with a 2×2 mean pool), trained the same way',
  },
];
/**
 * How each ViT of set stem is inverted, beyond the standard objective: on a random half of its
 * patch tokens each step (the class must show in whichever half it sees), or as Plug-In Inversion
 * does for ViTs, the loss over 4 jittered copies with a random-resized crop (lever
 * fine-copies-4-crop-0.5's ensemble).
 */
const STEM_INVERSIONS: { allClasses: boolean; variant: InversionVariant; kind: string }[] = [
  { allClasses: false, variant: { copies: 1, minCropScale: 1, keepTokens: 1 }, kind: "over the task's 5" },
  { allClasses: true, variant: { copies: 1, minCropScale: 1, keepTokens: 1 }, kind: 'cross-entropy over all 126 classes' },
  {
    allClasses: true,
    variant: { copies: 1, minCropScale: 1, keepTokens: 0.5 },
    kind: 'over all 126, each inversion step on a random half of its patch tokens',
  },
  {
    allClasses: true,
    variant: { copies: 4, minCropScale: 0.5, keepTokens: 1 },
    kind: 'over all 126, the loss over 4 jittered copies each step, each with a random-resized crop (side 0.5–1)',
  },
];
const KINDS_STEM = [
  'prior CNN, trained on these classes: cross-entropy over all its 126 classes',
  ...STEM_VITS.flatMap((v, i) =>
    STEM_INVERSIONS.map((inv, j) => (j === 0 ? `${v.name}: ${inv.kind}` : `the same ${i === 0 ? '' : 'conv-stem '}ViT: ${inv.kind}`)),
  ),
];
const STEM_RECIPE = { batchSize: 64, peakLearningRate: 1e-3, floorLearningRate: 1e-5, warmupFraction: 0.05, weightDecay: 0.05 };
const STEM_EPOCHS = 40;
const CNN_TUNING = { probeSteps: 100, probeLearningRate: 0.01, steps: 60, learningRate: 0.001 };

interface Inverted {
  pixels: tf.Tensor4D; // [ways·images, H, W, 3] in [0, 1]
  targets: number[];
  confidence: number[]; // the classifier's softmax of the target over the task's classes
  knows: number; // its accuracy on real renderings of the task's classes (held out for the LoRA teachers)
}

interface KindResult {
  kind: string;
  knows: number; // mean over tasks
  medianTargetConfidence: number;
  inkMatch: number; // share of the inverted images whose ink reads as their class, mean over tasks
}

/** A classifier over every class of domain A's glyph base split: x [B, H, W, C] normalised → logits [B, 126]. */
type AllClassLogits = (x: tf.Tensor4D) => tf.Tensor2D;

/** Its logits over the task's classes only: → [B, ways]. */
function taskLogits(logitsOf: AllClassLogits, x: tf.Tensor4D, columns: tf.Tensor1D): tf.Tensor2D {
  return tf.gather(logitsOf(x), columns, 1) as tf.Tensor2D;
}

/** Share of x (normalised) the classifier gives its target among the task's classes, and the targets' softmax. */
function readBy(
  logitsOf: AllClassLogits,
  columns: tf.Tensor1D,
  x: tf.Tensor4D,
  targets: number[],
): { accuracy: number; confidence: number[] } {
  const probabilities = tf.tidy(() => tf.softmax(taskLogits(logitsOf, x, columns)).arraySync() as number[][]);
  const hits = probabilities.filter((p, i) => p.indexOf(Math.max(...p)) === targets[i]).length;
  return { accuracy: hits / targets.length, confidence: probabilities.map((p, i) => p[targets[i]]) };
}

/** Beyond the standard objective: jittered copies per step, a random-resized crop in each, a share of ViT tokens per step. */
interface InversionVariant {
  copies: number;
  minCropScale: number; // 1: no crop
  keepTokens: number; // share of patch tokens each step sees (1: all); for ViT classifiers only
}
const STANDARD_VARIANT: InversionVariant = { copies: 1, minCropScale: 1, keepTokens: 1 };

/**
 * Inverts an all-class classifier for one task (classes `columns` of its head), `images` per class,
 * as invertLora does a teacher (its canvas, Adam betas, jitter and w_BN R_BN of `prior`); the
 * cross-entropy is over the task's classes, or, with `allClasses` the number of classes of the
 * head, over every one of them (the target must then beat all of them, not 4).
 */
function invertClassifier(
  logitsOf: AllClassLogits,
  prior: PriorCnn,
  columns: tf.Tensor1D,
  real: tf.Tensor4D,
  realTargets: number[],
  images: number,
  seed: number,
  allClasses: number | null,
  variant: InversionVariant = STANDARD_VARIANT,
  stepLogitsOf: AllClassLogits = logitsOf, // the classifier as the optimisation steps see it (a token subset)
): Inverted {
  const targets = inversionTargets(RECIPE.ways, images);
  const side = prior.config.imageSize;
  const canvas = strokeCanvas(targets.length, side, 3, RECIPE.strokes, seed, { maxWidth: RECIPE.maxStrokeWidth });
  const adam = new Adam(canvas.variables, { beta1: 0.5, beta2: 0.99 }); // invertLora's betas
  const random = new SeededRandom(seed);
  const chosen = columns.arraySync();
  const onehot =
    allClasses !== null
      ? tf.oneHot(
          tf.tensor1d(
            targets.map((t) => chosen[t]),
            'int32',
          ),
          allClasses,
        )
      : tf.oneHot(tf.tensor1d(targets, 'int32'), RECIPE.ways);
  const objectiveLogits = (x: tf.Tensor4D) => (allClasses !== null ? stepLogitsOf(x) : taskLogits(stepLogitsOf, x, columns));
  try {
    for (let step = 0; step < RECIPE.steps; step++) {
      const jitters = Array.from({ length: variant.copies }, () => drawJitter(random, side, RECIPE.maxShift, true, variant.minCropScale));
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => {
          const x = applyJitters(canvas.render(), jitters);
          const crossEntropy = tf.losses.softmaxCrossEntropy(tf.tile(onehot, [variant.copies, 1]), objectiveLogits(x));
          return tf.add(crossEntropy, tf.mul(RECIPE.priorWeight, bnPriorLoss(x, prior))) as tf.Scalar;
        }, canvas.variables);
        adam.apply(
          canvas.variables.map((v) => grads[v.name]),
          RECIPE.learningRate,
        );
      });
      canvas.project();
    }
    const images01 = tf.tidy(() => denormalizeImages(canvas.render()));
    const final = tf.tidy(() => canvas.render());
    const knows = tf.tidy(() => readBy(logitsOf, columns, normalizeImages(real), realTargets).accuracy);
    const confidence = readBy(logitsOf, columns, final, targets).confidence;
    final.dispose();
    return { pixels: images01, targets, confidence, knows };
  } finally {
    adam.dispose();
    canvas.dispose();
    onehot.dispose();
  }
}

/**
 * A linear head over the frozen backbone's features of every training rendering of domain A's glyph
 * base split (the split the backbone and the CNN trained on), the ViT's counterpart of the CNN's own
 * head: cross-entropy, full-batch Adam at lr 0.01 for PROBE_STEPS steps on the features.
 */
function linearProbe(backbone: VisionTransformer, data: LabelledImages, seed: number): LinearHead {
  const all = Array.from({ length: data.size }, (_, i) => i);
  const features = tf.tidy(() => {
    const chunks: tf.Tensor2D[] = [];
    for (let start = 0; start < data.size; start += 256) {
      const batch = data.pixels(all.slice(start, start + 256));
      chunks.push(backbone.forward(normalizeImages(batch)).features as tf.Tensor2D);
    }
    return tf.concat(chunks);
  });
  const head = LinearHead.create(backbone.config.projectionDim, data.classes, seed);
  const variables = head.trainableVariables();
  const adam = new Adam(variables);
  const onehot = tf.oneHot(tf.tensor1d(data.labels(all), 'int32'), data.classes);
  try {
    for (let step = 0; step < PROBE_STEPS; step++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(onehot, head.apply(features)) as tf.Scalar, variables);
        adam.apply(
          variables.map((v) => grads[v.name]),
          0.01,
        );
      });
    }
    return head;
  } finally {
    tf.dispose([features, onehot]);
    adam.dispose();
  }
}

/** Indices of TEACHER.shots renderings per class to tune on (chosen with the seed) and of the rest, held out. */
function teacherSplit(realTargets: number[], seed: number): { support: number[]; query: number[] } {
  const random = new SeededRandom(seed);
  const support: number[] = [];
  const query: number[] = [];
  for (let k = 0; k < RECIPE.ways; k++) {
    const members = realTargets.flatMap((t, i) => (t === k ? [i] : []));
    random.permutation(members.length).forEach((j, rank) => (rank < TEACHER.shots ? support : query).push(members[j]));
  }
  return { support, query };
}

/**
 * A teacher as the zoo's over `backbone`, tuned on TEACHER.shots renderings per class (chosen with
 * the seed; the rest held out), inverted by invertLora with the standard profile's settings.
 */
async function invertLoraTeacher(
  backbone: VisionTransformer,
  prior: PriorCnn,
  real: tf.Tensor4D,
  realTargets: number[],
  images: number,
  seed: number,
): Promise<Inverted> {
  const { support, query } = teacherSplit(realTargets, seed);
  const task = tf.tidy(() => ({
    support: normalizeImages(tf.gather(real, support) as tf.Tensor4D),
    supportLabels: support.map((i) => realTargets[i]),
    query: normalizeImages(tf.gather(real, query) as tf.Tensor4D),
    queryLabels: query.map((i) => realTargets[i]),
  }));
  const { lora, head, record } = pretuneLora(backbone, task, RECIPE.ways, {
    rank: TEACHER.rank,
    steps: TEACHER.steps,
    learningRate: TEACHER.learningRate,
    seed,
  });
  tf.dispose([task.support, task.query]);
  try {
    const result = await invertLora(backbone, { adapter: lora, head }, prior, { ...RECIPE, shots: 1, queries: images - 1, seed });
    const inverted = {
      pixels: result.pixels.clone(),
      targets: result.targets,
      confidence: result.targetConfidence,
      knows: record.heldOutAccuracy ?? Number.NaN,
    };
    result.dispose();
    return inverted;
  } finally {
    lora.dispose();
    head.dispose();
  }
}

/**
 * Two 5-way classifiers of one domain-B task built on the prior CNN trained on domain A: a linear
 * head fitted on its frozen pooled features of the task's tuning renderings, and a copy of the CNN
 * tuned end to end from there (kernels, γ, β and head; BatchNorm in eval mode, so its running
 * statistics, the prior's, stay). Full-batch Adam, cross-entropy.
 */
function cnnTeachers(prior: PriorCnn, support: tf.Tensor4D, labels: number[], seed: number): { frozen: PriorCnn; tuned: PriorCnn } {
  const config = { ...prior.config, classes: RECIPE.ways };
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), RECIPE.ways);
  const features = tf.tidy(() => prior.forward(support, 'eval').features);
  const head = LinearHead.create(features.shape[1], RECIPE.ways, seed);
  const trainFullBatch = (variables: tf.Variable[], steps: number, learningRate: number, loss: () => tf.Scalar) => {
    const adam = new Adam(variables);
    for (let step = 0; step < steps; step++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(loss, variables);
        adam.apply(
          variables.map((v) => grads[v.name]),
          learningRate,
        );
      });
    }
    adam.dispose();
  };
  trainFullBatch([head.weight, head.bias], CNN_TUNING.probeSteps, CNN_TUNING.probeLearningRate, () =>
    tf.losses.softmaxCrossEntropy(onehot, linear(features, head.weight, head.bias)),
  );
  features.dispose();
  const withHead = { blocks: prior.weights.blocks, head: { kernel: head.weight, bias: head.bias } };
  const frozen = new PriorCnn(
    config,
    mapTree(withHead, (t) => t.clone()),
  );
  const tuned = new PriorCnn(config, variablesOf(withHead)); // tuned from the linear head; its running statistics stay as they are
  head.dispose();
  trainFullBatch(tuned.trainableTensors() as tf.Variable[], CNN_TUNING.steps, CNN_TUNING.learningRate, () =>
    tf.losses.softmaxCrossEntropy(onehot, tuned.forward(support, 'eval').logits),
  );
  onehot.dispose();
  return { frozen, tuned };
}

/** One RGB picture: per task a block with a row per image source (the first image of each class), a column per class, ×2. */
function figure(blocks: { pixels: tf.Tensor4D; targets: number[] }[][]): Buffer {
  const side = blocks[0][0].pixels.shape[1];
  const cell = side * 2 + 4;
  const rows = blocks[0].length;
  const width = RECIPE.ways * cell + 4;
  const height = blocks.length * (rows * cell + 8) + 4;
  const bytes = new Uint8Array(width * height * 3).fill(255);
  const paste = (pixels: Float32Array, top: number, left: number) => {
    for (let y = 0; y < side * 2; y++)
      for (let x = 0; x < side * 2; x++)
        for (let c = 0; c < 3; c++)
          bytes[((top + y) * width + left + x) * 3 + c] = Math.round(255 * pixels[((y >> 1) * side + (x >> 1)) * 3 + c]);
  };
  blocks.forEach((block, b) =>
    block.forEach(({ pixels, targets }, r) => {
      for (let k = 0; k < RECIPE.ways; k++) {
        const first = tf.tidy(() => tf.slice(pixels, targets.indexOf(k), 1).dataSync() as Float32Array);
        paste(first, 4 + b * (rows * cell + 8) + r * cell, 4 + k * cell);
      }
    }),
  );
  return encodePng(bytes, width, height, 3);
}

interface TaskRun {
  classes: string[];
  real: tf.Tensor4D; // every rendering of the task's classes, in [0, 1]
  realTargets: number[];
  inverted: Inverted[]; // one per row of the set's KINDS
}

/** The real renderings of `classIds` as one batch in [0, 1], with their class index in the task. */
function renderingsOf(dataset: ImageDataset, classIds: string[]): { real: tf.Tensor4D; realTargets: number[] } {
  const records = classIds.flatMap((id, k) => dataset.imagesOf(id).map((record) => ({ record, k })));
  const real = tf.tensor4d(
    records.flatMap(({ record }) => Array.from(dataset.pixels(record))),
    [records.length, dataset.imageSize, dataset.imageSize, 3],
  );
  return { real, realTargets: records.map(({ k }) => k) };
}

/** Set A's tasks of A's glyph classes (`classIds` in head order), drawn with the seed, each with the images `invert` draws for it. */
async function glyphTasks(
  glyphs: ImageDataset,
  classIds: string[],
  tasks: number,
  seed: number,
  invert: (task: { columns: tf.Tensor1D; real: tf.Tensor4D; realTargets: number[]; taskSeed: number }) => Promise<Inverted[]>,
): Promise<TaskRun[]> {
  const random = new SeededRandom(seed);
  const runs: TaskRun[] = [];
  for (let t = 0; t < tasks; t++) {
    const chosen = random.permutation(classIds.length).slice(0, RECIPE.ways);
    const columns = tf.tensor1d(chosen, 'int32');
    const { real, realTargets } = renderingsOf(
      glyphs,
      chosen.map((c) => classIds[c]),
    );
    const inverted = await invert({ columns, real, realTargets, taskSeed: seed + 1 + t });
    columns.dispose();
    runs.push({ classes: chosen.map((c) => classIds[c]), real, realTargets, inverted });
  }
  return runs;
}

/** Domain A's glyph tasks: the CNN and the ViT probe over their own classes, and the LoRA teachers (KINDS_A). */
async function controlA(prior: PriorCnn, tasks: number, images: number, seed: number): Promise<TaskRun[]> {
  const backbones = [loadShippedBackbone('emoji-only'), loadShippedBackbone('default')];
  const glyphs = await loadGlyphDataset();
  const split = holdoutSplit(glyphs, classesOf(glyphs, 'base'), 1, 0); // the CNN's training split and head order (scripts/train-prior.ts)
  const { classIds } = split;
  if (classIds.length !== prior.config.classes)
    throw new ConfigError(`the shipped prior has ${prior.config.classes} classes but the glyph set's base split ${classIds.length}`);
  const cnn: AllClassLogits = (x) => prior.forward(x, 'eval').logits;
  const probe = linearProbe(backbones[1], split.train, seed);
  const vit: AllClassLogits = (x) => probe.apply(backbones[1].forward(x).features);
  const runs = await glyphTasks(glyphs, classIds, tasks, seed, async ({ columns, real, realTargets, taskSeed }) => [
    invertClassifier(cnn, prior, columns, real, realTargets, images, taskSeed, null),
    invertClassifier(cnn, prior, columns, real, realTargets, images, taskSeed, classIds.length),
    invertClassifier(vit, prior, columns, real, realTargets, images, taskSeed, null),
    invertClassifier(vit, prior, columns, real, realTargets, images, taskSeed, classIds.length),
    ...(await Promise.all(backbones.map((b) => invertLoraTeacher(b, prior, real, realTargets, images, taskSeed)))),
  ]);
  backbones.forEach((b) => b.dispose());
  probe.dispose();
  return runs;
}

/** Domain B's base-class tasks: CNN features of A with a head, the CNN tuned, the zoo's LoRA teacher (KINDS_B). */
/**
 * A CNN of the prior's architecture trained from scratch, as the shipped prior was on A's glyphs
 * (scripts/train-prior.ts's recipe), on B_SCRATCH.classes of B's base classes (the tasks' classes
 * among them), all but 4 renderings of each (at most 20); the rest held out.
 */
const B_SCRATCH = { classes: 126, heldOut: 4, epochs: 12 };
const SCRATCH_RECIPE = { batchSize: 64, peakLearningRate: 2e-3, floorLearningRate: 1e-5, warmupFraction: 0.05, weightDecay: 5e-4 };

async function scratchCnn(domain: ImageDataset, classIds: string[], seed: number): Promise<{ cnn: PriorCnn; split: HoldoutSplit }> {
  const split = holdoutSplit(
    domain,
    classIds.map((id) => domain.classes.find((c) => c.id === id)!),
    B_SCRATCH.heldOut,
    seed,
  );
  const { prior: cnn } = await trainPrior(PRIOR_CNN, split.train, {
    ...optimiserOptions(SCRATCH_RECIPE, B_SCRATCH.epochs),
    augment: { ...DEFAULT_AUGMENT, flip: false },
    normalize: normalizeImages,
    seed,
  });
  return { cnn, split };
}

/** Domain B's base-class tasks: CNN features of A with a head, the CNN tuned, the zoo's LoRA teacher, a CNN of B from scratch (KINDS_B). */
async function controlB(prior: PriorCnn, tasks: number, images: number, seed: number): Promise<TaskRun[]> {
  const backbone = loadShippedBackbone('emoji-only');
  const domain = await loadGlyphDomainDataset();
  const classIds = classesOf(domain, 'base').map((c) => c.id);
  const random = new SeededRandom(seed);
  const taskClasses = Array.from({ length: tasks }, () =>
    random
      .permutation(classIds.length)
      .slice(0, RECIPE.ways)
      .map((c) => classIds[c]),
  );
  const others = new SeededRandom(seed + 1000).permutation(classIds.length).map((c) => classIds[c]);
  const inTasks = [...new Set(taskClasses.flat())];
  const scratchClasses = [...inTasks, ...others.filter((id) => !inTasks.includes(id))].slice(
    0,
    Math.max(B_SCRATCH.classes, inTasks.length),
  );
  const scratch = await scratchCnn(domain, scratchClasses, seed);
  const scratchLogits: AllClassLogits = (x) => scratch.cnn.forward(x, 'eval').logits;
  const identity = tf.tensor1d([0, 1, 2, 3, 4].slice(0, RECIPE.ways), 'int32');
  const runs: TaskRun[] = [];
  for (const [t, chosen] of taskClasses.entries()) {
    const { real, realTargets } = renderingsOf(domain, chosen);
    const taskSeed = seed + 1 + t;
    const { support, query } = teacherSplit(realTargets, taskSeed);
    const supportImages = tf.tidy(() => normalizeImages(tf.gather(real, support) as tf.Tensor4D));
    const heldOut = tf.gather(real, query) as tf.Tensor4D;
    const heldOutTargets = query.map((i) => realTargets[i]);
    const { frozen, tuned } = cnnTeachers(
      prior,
      supportImages,
      support.map((i) => realTargets[i]),
      taskSeed,
    );
    supportImages.dispose();
    const inverted = [frozen, tuned].map((cnn) =>
      invertClassifier((x) => cnn.forward(x, 'eval').logits, prior, identity, heldOut, heldOutTargets, images, taskSeed, null),
    );
    inverted.push(await invertLoraTeacher(backbone, prior, real, realTargets, images, taskSeed));
    tf.dispose(heldOut);
    frozen.dispose();
    tuned.dispose();
    // the scratch CNN's own held-out renderings of the task's classes
    const columns = tf.tensor1d(
      chosen.map((id) => scratchClasses.indexOf(id)),
      'int32',
    );
    const mine = scratch.split.heldOut;
    const held = [...Array(mine.size).keys()].filter((i) => chosen.includes(scratchClasses[mine.labels([i])[0]]));
    const scratchHeldOut = mine.pixels(held);
    const scratchTargets = mine.labels(held).map((label) => chosen.indexOf(scratchClasses[label]));
    for (const allClasses of [null, scratchClasses.length])
      inverted.push(invertClassifier(scratchLogits, prior, columns, scratchHeldOut, scratchTargets, images, taskSeed, allClasses));
    tf.dispose([columns, scratchHeldOut]);
    runs.push({ classes: chosen, real, realTargets, inverted });
  }
  identity.dispose();
  scratch.cnn.dispose();
  backbone.dispose();
  return runs;
}

interface StemTraining {
  stem: string;
  heldOutAccuracy: number; // over the one held-out rendering per class (126 images)
  steps: number;
  seconds: number; // of the training run (a cached model keeps its own)
  cached: boolean; // loaded from STEM_CACHE rather than trained in this run
}

/** Where set stem keeps its trained ViTs, so that a rerun inverts the same models without training them again. */
const STEM_CACHE = path.resolve(__dirname, '..', '.cache', 'inversion-control');

/**
 * One ViT of set stem with its 126-way head: loaded from STEM_CACHE when a run with this recipe and
 * seed saved it, else trained (pretrainBackbone) and saved there (backbone as saveBackbone writes it,
 * head and training record in head.safetensors, written last, so a half-written entry is retrained).
 */
async function stemVit(
  split: HoldoutSplit,
  conv: number[] | null,
  seed: number,
): Promise<{ backbone: VisionTransformer; head: LinearHead; training: Omit<StemTraining, 'heldOutAccuracy'> }> {
  const stem = conv ? `conv ${conv.join(', ')}` : 'patch';
  const dir = path.join(STEM_CACHE, `vit-${conv ? `conv-${conv.join('-')}` : 'patch'}-seed-${seed}-epochs-${STEM_EPOCHS}`);
  const headFile = path.join(dir, 'head.safetensors');
  if (fs.existsSync(headFile)) {
    const { config, weights } = loadVisionTower(dir);
    const { metadata, tensors } = readSafetensorsTensors(headFile);
    const head = LinearHead.fromTensors(tensors.weight as tf.Tensor2D, tensors.bias as tf.Tensor1D);
    tf.dispose(Object.values(tensors));
    const record = JSON.parse(metadata.training) as { steps: number; seconds: number };
    return { backbone: new VisionTransformer(config, weights), head, training: { stem, ...record, cached: true } };
  }
  const config: ViTConfig = conv ? { ...TINY_VIT, convStem: conv } : TINY_VIT;
  const { backbone, head, record } = await pretrainBackbone(split.train, {
    ...optimiserOptions(STEM_RECIPE, STEM_EPOCHS),
    augment: { ...DEFAULT_AUGMENT, flip: false },
    config,
    seed,
  });
  const training = { steps: record.totalSteps, seconds: record.seconds };
  saveBackbone(dir, backbone);
  writeSafetensors(headFile, { weight: head.weight, bias: head.bias }, { training: JSON.stringify(training) });
  return { backbone, head, training: { stem, ...training, cached: false } };
}

/** A ViT's logits on a random `keep` share of its patch tokens, drawn afresh each call from `random`. */
function logitsOnTokens(backbone: VisionTransformer, head: LinearHead, keep: number, random: SeededRandom): AllClassLogits {
  const patches = patchCount(backbone.config);
  const kept = Math.round(keep * patches);
  return (x) => head.apply(backbone.forward(x, { patchPositions: randomPatchPositions(random, x.shape[0], patches, kept) }).features);
}

/** Set stem: the prior CNN and two tiny ViTs trained from scratch on its renderings of A's glyph classes, inverted STEM_INVERSIONS' ways (KINDS_STEM). */
async function controlStem(prior: PriorCnn, tasks: number, images: number, seed: number, trained: StemTraining[]): Promise<TaskRun[]> {
  const glyphs = await loadGlyphDataset();
  const split = holdoutSplit(glyphs, classesOf(glyphs, 'base'), 1, 0); // the CNN's training split and head order
  const { classIds } = split;
  const models: { backbone: VisionTransformer; head: LinearHead; logits: AllClassLogits }[] = [];
  for (const { conv } of STEM_VITS) {
    const { backbone, head, training } = await stemVit(split, conv, seed);
    const heldOut = Array.from({ length: split.heldOut.size }, (_, i) => i);
    trained.push({ ...training, heldOutAccuracy: backboneAccuracy(backbone, head, split.heldOut, heldOut) });
    console.log(JSON.stringify(trained[trained.length - 1]));
    models.push({ backbone, head, logits: ((x) => head.apply(backbone.forward(x).features)) as AllClassLogits });
  }
  const cnn: AllClassLogits = (x) => prior.forward(x, 'eval').logits;
  const runs = await glyphTasks(glyphs, classIds, tasks, seed, async ({ columns, real, realTargets, taskSeed }) => [
    invertClassifier(cnn, prior, columns, real, realTargets, images, taskSeed, classIds.length),
    ...models.flatMap(({ backbone, head, logits }) =>
      STEM_INVERSIONS.map(({ allClasses, variant }) =>
        invertClassifier(
          logits,
          prior,
          columns,
          real,
          realTargets,
          images,
          taskSeed,
          allClasses ? classIds.length : null,
          variant,
          variant.keepTokens < 1 ? logitsOnTokens(backbone, head, variant.keepTokens, new SeededRandom(taskSeed + 500)) : logits,
        ),
      ),
    ),
  ]);
  for (const { backbone, head } of models) {
    backbone.dispose();
    head.dispose();
  }
  return runs;
}

const SETS = {
  a: {
    kinds: KINDS_A,
    file: 'control',
    title: 'which classifiers the standard inversion can draw a character from',
    classes: "Domain A's glyph classes (Latin, digits,\nCyrillic; none of B)",
    knows:
      "\"Knows the classes\": the CNN's and the linear head's 5-way\naccuracy on every rendering of them (they trained on most); a LoRA teacher's on the renderings it was not tuned on.",
  },
  b: {
    kinds: KINDS_B,
    file: 'control-b',
    title: "whether a CNN's shape-following gradients carry over to classes it never saw",
    classes: "Domain B's base classes (the zoo's; never\nseen by the CNN, which trained on A's glyphs, or by the emoji-only backbone)",
    knows:
      '"Knows the classes": each classifier\'s 5-way accuracy\non the renderings it was not tuned on (20 per class tuned on, the rest held out; the CNN of B: 4 per class held out).',
  },
  stem: {
    kinds: KINDS_STEM,
    file: 'control-stem',
    title: "whether the ViT's patch embedding keeps its gradients from drawing a character",
    classes: "Set A's tasks of domain A's glyph classes (Latin, digits,\nCyrillic; none of B)",
    knows: '"Knows the classes": each classifier\'s 5-way\naccuracy on every rendering of them (it trained on all but one per class).',
  },
} as const;

async function main(): Promise<void> {
  const { values } = commandLine({ set: 'a', tasks: '6', images: '6', seed: '2025', out: 'reports' });
  const [tasks, images, seed] = [Number(values.tasks), Number(values.images), Number(values.seed)];
  for (const [name, value] of Object.entries({ tasks, images })) {
    if (!Number.isInteger(value) || value < 2) throw new ConfigError(`--${name} must be an integer ≥ 2, found ${value}`);
  }
  if (!Object.hasOwn(SETS, values.set))
    throw new ConfigError(`--set must be one of ${Object.keys(SETS).join(', ')}, found ${JSON.stringify(values.set)}`);
  const setName = values.set as keyof typeof SETS;
  const set = SETS[setName];
  const backend = await selectBackend();
  const prior = loadShippedPrior();
  const started = Date.now();
  const trained: StemTraining[] = [];
  const runs = await (setName === 'a'
    ? controlA(prior, tasks, images, seed)
    : setName === 'b'
      ? controlB(prior, tasks, images, seed)
      : controlStem(prior, tasks, images, seed, trained));
  const perTask = runs.map(({ classes, real, realTargets, inverted }) => ({
    classes,
    realInkMatch: inkTemplateMatch(real, realTargets, real, realTargets, { leaveOneOut: true }),
    kinds: inverted.map((v) => ({
      knows: v.knows,
      inkMatch: inkTemplateMatch(v.pixels, v.targets, real, realTargets),
      confidence: v.confidence,
    })),
  }));
  const dir = path.join(values.out, 'inversion-control');
  writeFileAtomic(
    path.join(dir, `${set.file}.png`),
    figure(runs.map(({ real, realTargets, inverted }) => [{ pixels: real, targets: realTargets }, ...inverted])),
  );
  runs.forEach(({ real, inverted }) => tf.dispose([real, ...inverted.map((v) => v.pixels)]));
  prior.dispose();
  const meanOf = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const kinds: KindResult[] = set.kinds.map((kind, i) => ({
    kind,
    knows: meanOf(perTask.map((task) => task.kinds[i].knows)),
    medianTargetConfidence: median(perTask.flatMap((task) => task.kinds[i].confidence)) ?? Number.NaN,
    inkMatch: meanOf(perTask.map((task) => task.kinds[i].inkMatch)),
  }));
  const summary = {
    set: values.set,
    recipe: RECIPE,
    teacher: TEACHER,
    ...(setName === 'b' ? { cnnTuning: CNN_TUNING } : {}),
    ...(setName === 'stem' ? { vitRecipe: { ...STEM_RECIPE, epochs: STEM_EPOCHS, flip: false }, trained } : {}),
    tasks,
    imagesPerClass: images,
    seed,
    backend: backend.name,
    seconds: (Date.now() - started) / 1000,
    realInkMatch: meanOf(perTask.map((task) => task.realInkMatch)),
    kinds,
    perTask: perTask.map(({ classes, realInkMatch, kinds: k }) => ({
      classes,
      realInkMatch,
      kinds: k.map(({ knows, inkMatch }) => ({ knows, inkMatch })),
    })),
  };
  writeJsonAtomic(path.join(dir, `${set.file}.json`), summary);
  const percent = (v: number) => `${(100 * v).toFixed(1)} %`;
  const perRow = tasks * RECIPE.ways * images;
  const md = [
    `# Inversion control: ${set.title}`,
    '',
    `Written by \`npm run exp:inversion-control${setName === 'a' ? '' : ` -- --set ${setName}`}\` (scripts/inversion-control.ts). ${set.classes},`,
    `${tasks} 5-way tasks, ${images} inverted images per class, the standard profile's canvas, steps, jitter`,
    `and w_BN; read by the lever probe's ink match (chance 20 %). ${set.knows} Target confidence: the`,
    "classifier's softmax of the target over the task's 5 classes.",
    `Each row reads ${perRow} images, so a share is known to about ±${Math.round((100 * 1.96 * 0.5) / Math.sqrt(perRow))} points (95 %, binomial at 50 %).`,
    '',
    '| inverted classifier | knows the classes | median target confidence | ink matches the class |',
    '|---|---:|---:|---:|',
    ...kinds.map((k) => `| ${k.kind} | ${percent(k.knows)} | ${k.medianTargetConfidence.toFixed(3)} | **${percent(k.inkMatch)}** |`),
    `| real renderings, each left out of its own class | | | ${percent(summary.realInkMatch)} |`,
    '',
    ...trained.map(
      (v) =>
        `ViT with the ${v.stem} stem: ${v.steps} steps (${STEM_EPOCHS} epochs, batch ${STEM_RECIPE.batchSize}, AdamW peak lr ${STEM_RECIPE.peakLearningRate}, no flips) in ${v.seconds.toFixed(0)} s${v.cached ? ' (an earlier run; this one loaded it from .cache/inversion-control)' : ''}; ${percent(v.heldOutAccuracy)} of the held-out rendering of each of the 126 classes.`,
    ),
    ...(trained.length > 0 ? [''] : []),
    `${summary.seconds.toFixed(0)} s on ${backend.name}.`,
    '',
    `![per task: a real rendering of each class, then an image inverted from each classifier in the table's order](${set.file}.png)`,
    '',
  ].join('\n');
  writeFileAtomic(path.join(dir, `${set.file}.md`), md);
  console.log(md);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
