/**
 * Recipe of the shipped backbone: supervised pretraining of TINY_VIT on domain A, the emoji
 * 'pretrain' classes (never the zoo's emoji 'base' classes, and no glyph of any script: domain B,
 * src/data/glyph-domain.ts, stays unseen), then assets/backbone/tiny-vit.safetensors (HF CLIP layout)
 * + training record JSON. `--sets emoji,glyphs` adds the glyph base classes (the recipe of the
 * backbone shipped before 2026-12-06, which saw Greek, Armenian, Hebrew and math operators of B).
 *   npm run train:backbone -- [--sets emoji|emoji,glyphs] [--conv-stem C1,C2] [--epochs N | --minutes M] [--seed S] [--fresh] [--out DIR]
 * `--conv-stem 64,128` trains TINY_VIT with an early-convolution stem of those channels in place of
 * the patch embedding (ViTConfig.convStem), saved in the project's lora-recycle/vit@1 file.
 * Without --epochs the epoch count is chosen from a measured step time to fit --minutes
 * (default 14); the record states the epochs used, and `--epochs N` reproduces the run.
 * A crashed or interrupted run resumes from .cache/backbone/pretrain.ckpt.safetensors.
 * Few-shot evaluation of the shipped backbone for the model card (after training):
 *   npm run train:backbone -- --evaluate [--episodes N] [--out DIR]   # DIR: the backbone's folder (default assets/backbone)
 * prototype (NN) accuracy of the frozen backbone next to raw-pixel prototypes, 5-way 1- and
 * 5-shot, 15 queries, on fixed seeded episodes (src/data/episodes.ts), into evaluation.json.
 * The class ids the shipped backbone was trained on, recomputed into the training record (no training;
 * refused when the data built now differs from the record's checksums, class or image counts):
 *   npm run train:backbone -- --record-classes
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import {
  backboneAccuracy,
  backboneFeatures,
  concatLabelled,
  featureTable,
  holdoutSplit,
  tableEpisodeSource,
  pretrainBackbone,
  saveBackbone,
  type PretrainOptions,
} from '../src/backbone';
import { assetPath } from '../src/paths';
import { backboneClassifier } from '../src/backbone/pretrain';
import { Adam, DEFAULT_ADAMW } from '../src/optim/adam';
import { SeededRandom } from '../src/random/seeded-random';
import { progressBar } from '../src/cli/progress-bar';
import { digitGlyphTwins, sharedNouns } from '../src/data/concept-overlaps';
import { classesOf, type ImageDataset, type Split } from '../src/data/dataset';
import { loadFashionMnist, loadMnist } from '../src/data/digits';
import { EMOJI_SPLITS, loadEmojiDataset } from '../src/data/emoji';
import type { StoreDataset } from '../src/data/store-dataset';
import { sampleEpisodes } from '../src/data/episodes';
import { loadGlyphDataset } from '../src/data/glyphs';
import { loadGlyphDomainDataset } from '../src/data/glyph-domain';
import { loadVisionTower } from '../src/io/vit-file';
import { evaluateEpisodeSource, flattenImages, formatPercent, meanWithInterval } from '../src/evaluation';
import { ConfigError } from '../src/errors';
import { writeJsonAtomic } from '../src/io';
import { readJsonFile } from '../src/io/read-json';
import { LinearHead, TINY_VIT, type ViTConfig, VisionTransformer, validateViTConfig, variablesOf } from '../src/model';
import { commandLine } from './command-line';
import { optimiserOptions } from './training-recipe';

const parseCommandLine = () =>
  commandLine(
    {
      sets: 'emoji',
      'conv-stem': undefined,
      epochs: undefined,
      minutes: '14',
      seed: '0',
      episodes: undefined,
      'digits-pool': undefined,
      out: undefined,
    },
    ['evaluate', 'fresh', 'record-classes'],
  ).values;
type Args = ReturnType<typeof parseCommandLine>;

const RECIPE = {
  batchSize: 64,
  peakLearningRate: 1e-3,
  floorLearningRate: 1e-5,
  warmupFraction: 0.05,
  tokenKeepRatio: 0.5,
  fullTokenFraction: 0.2,
  weightDecay: 0.05,
};

/** Seconds per training step at the recipe's batch size, on a throw-away model (3 timed steps). */
function measureStepSeconds(config: ViTConfig, classes: number): number {
  const init = VisionTransformer.random(config, 123);
  const vit = new VisionTransformer(config, variablesOf(init.weights));
  init.dispose();
  const head = LinearHead.create(config.projectionDim, classes, 1);
  const model = backboneClassifier(vit, head, RECIPE.tokenKeepRatio);
  const optimizer = new Adam(model.parameters, DEFAULT_ADAMW);
  const names = Object.keys(model.parameters);
  const x = tf.randomNormal([RECIPE.batchSize, 32, 32, 3]) as tf.Tensor4D;
  const y = tf.oneHot(tf.randomUniform([RECIPE.batchSize], 0, classes, 'int32'), classes);
  const step = () => {
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(y, model.logits(x, true, { random: new SeededRandom(1), progress: 0 })) as tf.Scalar,
      names.map((n) => model.parameters[n]),
    );
    optimizer.apply(Object.fromEntries(names.map((n) => [n, grads[model.parameters[n].name]])), 1e-4);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const started = Date.now();
  for (let i = 0; i < 3; i++) step();
  const seconds = (Date.now() - started) / 3000;
  optimizer.dispose();
  vit.dispose();
  head.dispose();
  tf.dispose([x, y]);
  return seconds;
}

/** The model card's episodes: 5-way, 1 and 5 shots, 15 queries per class, one seed for every set. */
const EVALUATION = { ways: 5, shots: [1, 5], queries: 15, episodes: 600, seed: 2026 };

/** `dataset` with each class cut to its first `perClass` images (a smaller, fixed pool to draw episodes from). */
function firstImagesPerClass<T extends ImageDataset>(dataset: T, perClass: number): T {
  return Object.assign(Object.create(dataset) as T, { imagesOf: (classId: string) => dataset.imagesOf(classId).slice(0, perClass) });
}

async function evaluate(args: Args): Promise<void> {
  const backend = await selectBackend();
  const episodes = Number(args.episodes ?? EVALUATION.episodes);
  // MNIST and Fashion-MNIST have 1,000 test images per class; --digits-pool N draws their episodes from the first N
  const digitsPool = args['digits-pool'] ? Number(args['digits-pool']) : undefined;
  const digits = async (load: () => Promise<StoreDataset>) => (digitsPool ? firstImagesPerClass(await load(), digitsPool) : load());
  const dir = args.out ? path.resolve(args.out) : assetPath('backbone');
  const { config, weights } = loadVisionTower(path.join(dir, 'tiny-vit.safetensors'));
  const backbone = new VisionTransformer(config, weights);
  const sets: { name: string; split: Split; pooled?: boolean; load: () => Promise<ImageDataset & { checksum: string }> }[] = [
    { name: 'emoji novel', split: 'novel', load: () => loadEmojiDataset({ onEvent: progressBar() }) },
    { name: 'domain B novel', split: 'novel', load: () => loadGlyphDomainDataset({ onEvent: progressBar() }) },
    { name: 'glyphs test', split: 'test', load: () => loadGlyphDataset({ onEvent: progressBar() }) },
    { name: 'MNIST', split: 'test', pooled: true, load: () => digits(loadMnist) },
    { name: 'Fashion-MNIST', split: 'test', pooled: true, load: () => digits(loadFashionMnist) },
  ];
  const results: Record<string, unknown>[] = [];
  const out = path.join(dir, 'evaluation.json');
  for (const set of sets) {
    const dataset = await set.load();
    const lists = EVALUATION.shots.map((shots) =>
      sampleEpisodes(dataset, set.split, {
        ways: EVALUATION.ways,
        shots,
        queries: EVALUATION.queries,
        count: episodes,
        seed: EVALUATION.seed,
      }),
    );
    // one feature table per set and feature function, shared by the 1- and 5-shot lists
    const all = { ...lists[0], episodes: lists.flatMap((l) => l.episodes) };
    let started = Date.now();
    const nnTable = await featureTable(dataset, all, backboneFeatures(backbone));
    const featureSeconds = (Date.now() - started) / 1000;
    console.log(`${set.name}: backbone features of ${nnTable.rowOf.size} images in ${featureSeconds.toFixed(0)} s`);
    const rawTable = await featureTable(dataset, all, flattenImages);
    for (const list of lists) {
      const shots = list.shots;
      started = Date.now();
      const nn = await evaluateEpisodeSource(flattenImages, tableEpisodeSource(list, nnTable), {
        run: `${set.name} ${shots}-shot NN`,
        onEvent: progressBar(),
      });
      const raw = await evaluateEpisodeSource(flattenImages, tableEpisodeSource(list, rawTable), {
        run: `${set.name} ${shots}-shot raw pixels`,
        onEvent: progressBar(),
      });
      const difference = meanWithInterval(nn.accuracies.map((a, i) => a - raw.accuracies[i])); // paired: same episodes
      results.push({
        set: set.name,
        dataset: dataset.name,
        checksum: dataset.checksum,
        split: set.split,
        ways: EVALUATION.ways,
        shots,
        queries: EVALUATION.queries,
        episodes: list.episodes.length,
        seed: EVALUATION.seed,
        skippedClasses: list.skippedClasses.length,
        imagePool: set.pooled && digitsPool ? `first ${digitsPool} test images per class` : 'all images of the split',
        nn: { mean: nn.mean, ci95: nn.ci95 },
        rawPixels: { mean: raw.mean, ci95: raw.ci95 },
        nnMinusRaw: { mean: difference.mean, ci95: difference.ci95, n: difference.n },
        featureSeconds,
        episodeSeconds: (Date.now() - started) / 1000,
      });
      console.log(`${set.name} 5-way ${shots}-shot: NN ${formatPercent(nn)} %, raw pixels ${formatPercent(raw)} %`);
      writeJsonAtomic(out, {
        backend,
        protocol: {
          ...EVALUATION,
          episodes,
          classifier: 'prototypes (class-mean features), Euclidean distance',
          interval: "Student's t, t(0.975, n − 1)·s/√n over episodes",
        },
        results,
      });
    }
  }
  backbone.dispose();
}

/** The sets a recipe can pretrain on: where each comes from and which of its splits it gives. */
const PRETRAIN_SETS = {
  emoji: { load: () => loadEmojiDataset({ onEvent: progressBar() }), split: 'pretrain' as Split },
  glyphs: { load: () => loadGlyphDataset({ onEvent: progressBar() }), split: 'base' as Split },
};
type PretrainSetName = keyof typeof PRETRAIN_SETS;

/** `--sets`: a comma list of PRETRAIN_SETS names, emoji first (the data order of the recipe). */
function pretrainSetNames(value: string): PretrainSetName[] {
  const names = value.split(',').map((n) => n.trim());
  const unknown = names.filter((n) => !(n in PRETRAIN_SETS));
  if (unknown.length > 0 || names[0] !== 'emoji' || new Set(names).size !== names.length) {
    throw new ConfigError(`--sets ${value}: expected emoji or emoji,glyphs (known sets: ${Object.keys(PRETRAIN_SETS).join(', ')})`);
  }
  return names as PretrainSetName[];
}

interface PretrainSet {
  name: PretrainSetName;
  dataset: StoreDataset;
}

async function loadPretrainSets(names: readonly PretrainSetName[]): Promise<PretrainSet[]> {
  const sets: PretrainSet[] = [];
  for (const name of names) sets.push({ name, dataset: await PRETRAIN_SETS[name].load() });
  return sets;
}

/**
 * The recipe's training classes: all classes of each set's pretrain split, in data order, each cut
 * into training images and one held-out drawing per class (chosen with `seed`). The paper's
 * premise: the backbone never sees the zoo's classes (emoji 'base') nor meta-test ones.
 */
function trainingParts(sets: readonly PretrainSet[], seed: number) {
  return sets.map(({ name, dataset }) => holdoutSplit(dataset, classesOf(dataset, PRETRAIN_SETS[name].split), 1, seed));
}

/** The record's data.sets: what each set gave, with the sorted ids of the classes trained on. */
function recordSets(sets: readonly PretrainSet[], parts: ReturnType<typeof trainingParts>) {
  return sets.map(({ name, dataset }, i) => ({
    dataset: dataset.name,
    checksum: dataset.checksum,
    split: PRETRAIN_SETS[name].split,
    ...(name === 'emoji' ? { categories: Object.keys(EMOJI_SPLITS).filter((g) => EMOJI_SPLITS[g] === 'pretrain') } : {}),
    classes: parts[i].classIds.length,
    trainImages: parts[i].train.size,
    classIds: [...parts[i].classIds].sort(),
  }));
}

/** What the record says the backbone never saw, by class id, for the sets it was trained on. */
function neverSeen(names: readonly PretrainSetName[]): string {
  const glyphs = names.includes('glyphs') ? 'glyph test' : 'any glyph set (glyphs, domain B)';
  return `no class id of: emoji base (the zoo's classes), validation and novel; ${glyphs}; MNIST; Fashion-MNIST (data.sets[].classIds lists every id trained on). Never seen by id is not unseen in concept: see conceptOverlaps`;
}

/**
 * The concepts the backbone saw under other class ids (docs/data-card.md, Concept overlaps): emoji
 * pretrain classes named after a novel emoji's animal or food, and (with glyphs) MNIST's digits,
 * which are glyph base digits.
 */
async function conceptOverlaps(sets: readonly PretrainSet[], parts: ReturnType<typeof trainingParts>): Promise<string> {
  const seen = new Set(parts.flatMap((p) => p.classIds));
  const emoji = sets[0].dataset;
  const glyphs = sets.find((set) => set.name === 'glyphs')?.dataset;
  const nouns = sharedNouns(
    emoji.classes.filter((c) => seen.has(c.id)),
    classesOf(emoji, 'novel'),
  );
  const byNoun = [...new Set(nouns.map((o) => o.noun))].map((noun) => `${noun} ×${nouns.filter((o) => o.noun === noun).length}`);
  const examples = nouns.filter((o, i) => i === nouns.findIndex((p) => p.noun === o.noun)).map((o) => `${o.seen.name} (${o.seen.id})`);
  const emojiText = `${nouns.length} emoji pretrain classes share a noun with a novel emoji's name (${byNoun.join(', ')}; e.g. ${examples.join(', ')}). docs/data-card.md, Concept overlaps, lists them`;
  if (!glyphs) return `seen in concept under other class ids: ${emojiText}`;
  const digits = digitGlyphTwins((await loadMnist()).classes, glyphs.classes).filter((t) => seen.has(t.glyph.id));
  return `seen in concept under other class ids: MNIST's ${digits.length} digit classes are the glyph base digits ${digits.map((t) => t.glyph.name.split(' ')[0]).join('')} (${digits[0]?.glyph.id}…${digits.at(-1)?.glyph.id}, trained on as fonts draw them); ${emojiText}`;
}

/**
 * --record-classes: writes the recipe's class ids (and the concept overlaps) into the existing
 * training record, after checking that the data built now is the data it was trained on.
 */
async function recordClasses(): Promise<void> {
  const file = assetPath('backbone', 'training-record.json');
  const record = readJsonFile(file, 'not valid JSON') as {
    data: { sets: { dataset: string; checksum: string; classes: number; trainImages: number }[] } & Record<string, unknown>;
    recipe: { seed: number; sets?: string };
  };
  const names = pretrainSetNames(record.recipe.sets ?? 'emoji,glyphs'); // records before --sets trained on both
  const loaded = await loadPretrainSets(names);
  const parts = trainingParts(loaded, record.recipe.seed);
  const sets = recordSets(loaded, parts);
  const differences = sets.flatMap((set, i) => {
    const recorded = record.data.sets[i];
    return (['dataset', 'checksum', 'classes', 'trainImages'] as const)
      .filter((key) => recorded?.[key] !== set[key])
      .map((key) => `${set.dataset} ${key}: recorded ${JSON.stringify(recorded?.[key])}, built now ${JSON.stringify(set[key])}`);
  });
  if (differences.length > 0)
    throw new ConfigError(
      `${file}: the data built now is not the data the backbone was trained on, nothing written (${differences.join('; ')})`,
    );
  const overlaps = await conceptOverlaps(loaded, parts);
  const data = {
    ...record.data,
    sets: record.data.sets.map((set, i) => ({ ...set, classIds: sets[i].classIds })),
    neverSeen: neverSeen(names),
    conceptOverlaps: overlaps,
  };
  writeJsonAtomic(file, { ...record, data });
  console.log(`wrote the ${sets.map((s) => `${s.classIds.length} ${s.dataset}`).join(' and ')} class ids into ${file}\n${overlaps}`);
}

/** TINY_VIT, with the conv stem `--conv-stem C1,C2` asks for. */
function backboneConfig(convStem: string | undefined): ViTConfig {
  if (convStem === undefined) return TINY_VIT;
  const config = { ...TINY_VIT, convStem: convStem.split(',').map((c) => Number(c.trim())) };
  try {
    validateViTConfig(config);
  } catch (error) {
    throw new ConfigError(`--conv-stem ${convStem}: ${(error as Error).message}`);
  }
  return config;
}

async function main(): Promise<void> {
  const args = parseCommandLine();
  if (args.evaluate) return evaluate(args);
  if (args['record-classes']) return recordClasses();
  const names = pretrainSetNames(args.sets);
  const config = backboneConfig(args['conv-stem']);
  const backend = await selectBackend();
  const seed = Number(args.seed);
  const outDir = args.out ? path.resolve(args.out) : assetPath('backbone');
  // one checkpoint per set choice: a resumed run never continues another recipe's weights
  const recipeName = [...names, ...(config.convStem ? [`conv-${config.convStem.join('-')}`] : [])].join('-');
  const checkpointPath = path.resolve(__dirname, '..', '.cache', 'backbone', `pretrain-${recipeName}.ckpt.safetensors`);
  if (args.fresh) fs.rmSync(checkpointPath, { force: true });
  fs.mkdirSync(path.dirname(checkpointPath), { recursive: true });
  fs.mkdirSync(outDir, { recursive: true });
  const loaded = await loadPretrainSets(names);
  const parts = trainingParts(loaded, seed);
  const overlaps = await conceptOverlaps(loaded, parts); // before training: a missing MNIST fails now, not after the run
  const split = {
    classIds: parts.flatMap((p) => p.classIds),
    train: concatLabelled(parts.map((p) => p.train)),
    heldOut: concatLabelled(parts.map((p) => p.heldOut)),
  };
  const stepsPerEpoch = Math.floor(split.train.size / RECIPE.batchSize);
  let epochs = Number(args.epochs ?? 0);
  let measured: number | undefined;
  if (!epochs) {
    const minutes = Number(args.minutes);
    measured = measureStepSeconds(config, split.classIds.length);
    // the measured step drops tokens; the last fullTokenFraction of steps run all of them (≈ 1/keep × slower)
    const meanStep = measured * (1 - RECIPE.fullTokenFraction + RECIPE.fullTokenFraction / RECIPE.tokenKeepRatio);
    epochs = Math.max(1, Math.floor((minutes * 60) / (meanStep * stepsPerEpoch)));
    console.log(
      `measured ${measured.toFixed(2)} s/step (${(RECIPE.batchSize / measured).toFixed(1)} images/s): ${epochs} epochs fit ${minutes} min`,
    );
  }
  const options: PretrainOptions = {
    ...optimiserOptions(RECIPE, epochs),
    config,
    tokenKeepRatio: RECIPE.tokenKeepRatio,
    fullTokenFraction: RECIPE.fullTokenFraction,
    seed,
    checkpointPath,
    checkpointEvery: 100,
    onEvent: progressBar(),
  };
  const started = Date.now();
  const { backbone, head, record } = await pretrainBackbone(split.train, options);
  const trainSeconds = (Date.now() - started) / 1000;
  const heldOut = [...Array(split.heldOut.size).keys()];
  const train = [...Array(split.train.size).keys()];
  const heldOutAccuracy = backboneAccuracy(backbone, head, split.heldOut, heldOut);
  const trainAccuracy = backboneAccuracy(
    backbone,
    head,
    split.train,
    train.filter((i) => i % 4 === 0),
  );
  saveBackbone(path.join(outDir, 'tiny-vit.safetensors'), backbone);
  writeJsonAtomic(path.join(outDir, 'training-record.json'), {
    data: {
      sets: recordSets(loaded, parts),
      classes: split.classIds.length,
      trainImages: split.train.size,
      heldOutImages: split.heldOut.size,
      holdout: 'one drawing (artist or font) per class, chosen with the seed',
      neverSeen: neverSeen(names),
      conceptOverlaps: overlaps,
    },
    recipe: {
      ...RECIPE,
      sets: names.join(','),
      ...(config.convStem ? { convStem: config.convStem } : {}),
      epochs,
      seed,
      steps: record.totalSteps,
      augment:
        'random resized crop 0.75–1 with ±12.5 % shift (white fill), horizontal flip, brightness ±0.1, contrast ±20 %, saturation ±30 %',
      schedule: 'linear warm-up then cosine to the floor',
      optimizer: 'AdamW (decoupled weight decay on matrices)',
    },
    backend,
    measuredSecondsPerStepBeforeTraining: measured ?? null,
    trainSeconds,
    imagesPerSecond: record.imagesPerSecond,
    stepsThisRun: record.steps,
    finalLoss: record.lossHistory.slice(-20).reduce((a, b) => a + b, 0) / Math.max(1, Math.min(20, record.lossHistory.length)),
    baseAccuracy: { heldOutDrawings: heldOutAccuracy, trainingDrawingsSample: trainAccuracy },
    headNote: 'the linear head is not shipped: the backbone is used through prototypes',
  });
  console.log(
    `trained ${record.steps} steps in ${trainSeconds.toFixed(0)} s (${record.imagesPerSecond.toFixed(1)} images/s); base accuracy held-out ${(100 * heldOutAccuracy).toFixed(1)} %, train ${(100 * trainAccuracy).toFixed(1)} %`,
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
