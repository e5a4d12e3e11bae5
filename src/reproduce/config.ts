import { ConfigError } from '../errors';
import { SHIPPED_BACKBONES, type ShippedBackboneName } from '../backbone/shipped';
import { validateDatasetSpec, type DatasetSpec } from '../data/dataset-spec';
import { MAX_STROKE_SEGMENTS, STROKE_WIDTH } from '../inversion/canvas';
import { MAX_JITTER_COPIES } from '../inversion/jitter';
import type { ViTConfig } from '../model/config';
import { PROJECTION_NAMES, type ProjectionName } from '../model/weights';
import { readJsonFile } from '../io/read-json';
import { checkAdversarial, type AdversarialOptions } from '../training/adversarial';
import { shapeAugmentFrom, type ShapeAugmentOptions } from '../training/shape-augment';
import type { ContrastSource } from './contrast';

/** Where the backbone comes from. */
export type BackboneSource =
  | { source: 'shipped'; name?: ShippedBackboneName } // a pretrained tiny ViT of the project (default: 'default'; backbone/shipped.ts)
  | { source: 'hf'; path: string } // a local HF CLIPVisionModel / CLIPModel model.safetensors (config.json beside it)
  | { source: 'random'; config: 'tiny' | ViTConfig; seed?: number }; // random weights (tests)

/** One configuration of the whole pipeline (configs/tiny.json, configs/paper-scale.json). */
export interface RunConfig {
  name: string;
  backbone: BackboneSource;
  /**
   * main: the domain the method runs in, a data set with base, validation and novel splits: the
   * zoo is tuned on its base classes, meta-LoRAs are selected on its validation episodes and the
   * headline is measured on its novel ones (default { loader: 'emoji' }; method.md §0).
   */
  data: { imageSize: number; main?: DatasetSpec };
  /** shots: training images per class of each LoRA's task; heldOut: images per class kept to measure it (default 5). */
  zoo: {
    size: number;
    ways: number;
    shots: number;
    heldOut?: number;
    steps: number;
    learningRate: number;
    rank: number;
    targets?: ProjectionName[];
    augment?: Partial<ShapeAugmentOptions>; // shape augmentation while tuning, over DEFAULT_SHAPE_AUGMENT; absent: none
    adversarial?: AdversarialOptions; // adversarial training while tuning (L2 PGD); absent: none
    headInit?: 'random' | 'prototypes'; // each head's start: nn.Linear's (default) or the class means of the frozen features
  };
  inversion: {
    steps: number;
    shots: number;
    queries: number;
    learningRate: number;
    priorWeight: number;
    pruning: Record<string, number>;
    pruneStartFraction: number;
    prior?: (typeof IMAGE_PRIORS)[number]; // the CNN of R_BN: the shipped glyph CNN (default) or ImageNet EfficientNet-Lite0
    tvWeight?: number; // w_TV on the total variation TV(x); default 0 (the paper's)
    diversityWeight?: number; // w_div on the within-class repulsion R_div; default 0 (the paper has none)
    minCropScale?: number; // a random-resized crop of side s·H, s ∈ [minCropScale, 1], each step; default 1 (none, the paper's)
    jitterCopies?: number; // J jittered copies of the batch per step, the loss over all of them; default 1 (the paper's)
    generator?: (typeof INVERSION_GENERATORS)[number]; // draw the images with the shipped glyph VAE's decoder from latent codes; absent: pixels or strokes
    unadaptedWeight?: number; // w_0 on the head's CE over the backbone without the LoRA; default 0 (the paper has none)
    parameterSide?: number; // side of the optimised pixel grid, upsampled to the image; default the image side (the paper's)
    strokes?: number; // > 0: images drawn as that many strokes each, instead of free pixels; default 0 (the paper's pixels)
    maxStrokeWidth?: number; // the widest stroke's σ, pixels of a 32-pixel side; default 3 (canvas.ts STROKE_WIDTH)
    strokeSegments?: number; // straight segments of each stroke (a polyline), 1..MAX_STROKE_SEGMENTS; default 1
    inkWeight?: number; // w_ink on the images' mean ink; default 0 (the paper has none)
    flip?: boolean; // mirror the batch with p = 0.5 in the jitter; default true (the paper's)
  };
  metaTraining: {
    steps: number;
    shots: number;
    queries: number;
    interpolatedFraction: number;
    distance: 'euclidean' | 'squaredEuclidean';
    validateEvery: number;
    checkpointEvery: number;
    validationEpisodes: number;
    patience?: number; // stop after this many validations without a new best (metaTrain's early stop); default none
    flip: boolean;
    logitScale?: number | 'calibrated'; // s in softmax(−s·d) of the training losses; default 1; 'calibrated': set on the training images
    rank?: number; // the meta-LoRA's rank; default zoo.rank
    targets?: ProjectionName[]; // the projections the meta-LoRA adapts; default ['q', 'v'] (the paper's)
  };
  evaluation: { episodes: number; ways: number; shots: number[]; queries: number; sets: string[]; seed: number };
  baselines: {
    methods: string[];
    episodes: number;
    tuningSteps: number;
    learningRate: number;
    fullTuningSteps: number;
    fullLearningRate: number;
  };
  /** Choices of this configuration made after a novel-class number was seen (each report lists them). */
  choicesAfterNovel?: string[];
  /** Committed results the report sets beside its own oracle (contrast.ts), read when the run starts. */
  contrast?: ContrastSource[];
}

/** The loaders whose data sets have base, validation and novel splits: those data.main can name. */
export const MAIN_LOADERS = ['emoji', 'glyph-domain', 'folder'] as const satisfies readonly DatasetSpec['loader'][];

/** The CNNs whose BatchNorm statistics an inversion can use as its image prior (method.md §1.3). */
export const IMAGE_PRIORS = ['glyph-cnn', 'efficientnet-lite0'] as const;

/** Generators an inversion may draw through (src/prior/glyph-vae.ts): the VAE of domain A's glyphs. */
export const INVERSION_GENERATORS = ['glyph-vae'] as const;

const SECTIONS = ['backbone', 'data', 'zoo', 'inversion', 'metaTraining', 'evaluation', 'baselines'] as const;

function positiveInteger(value: unknown, where: string): void {
  if (!Number.isInteger(value) || (value as number) < 1)
    throw new ConfigError(`${where} must be a positive integer, found ${JSON.stringify(value)}`);
}

/** Throws a ConfigError naming the first missing or invalid field. */
export function validateRunConfig(config: RunConfig, source = 'configuration'): RunConfig {
  for (const section of SECTIONS) {
    if (typeof config[section] !== 'object' || config[section] === null) throw new ConfigError(`${source}: missing section "${section}"`);
  }
  const b = config.backbone;
  if (!['shipped', 'hf', 'random'].includes(b.source))
    throw new ConfigError(`${source}: backbone.source must be shipped, hf or random, found ${JSON.stringify(b.source)}`);
  if (b.source === 'shipped' && b.name !== undefined && !(b.name in SHIPPED_BACKBONES)) {
    throw new ConfigError(
      `${source}: backbone.name must be one of ${Object.keys(SHIPPED_BACKBONES).join(', ')}, found ${JSON.stringify(b.name)}`,
    );
  }
  if (b.source === 'hf' && typeof b.path !== 'string')
    throw new ConfigError(`${source}: backbone.path must name a local model.safetensors`);
  for (const [section, keys] of [
    ['zoo', ['size', 'ways', 'shots', 'steps', 'rank']],
    ['inversion', ['steps', 'shots', 'queries']],
    ['metaTraining', ['steps', 'shots', 'queries', 'validateEvery', 'checkpointEvery', 'validationEpisodes']],
    ['evaluation', ['episodes', 'ways', 'queries']],
    ['baselines', ['episodes']],
  ] as const) {
    for (const key of keys) positiveInteger((config[section] as unknown as Record<string, unknown>)[key], `${source}: ${section}.${key}`);
  }
  const fraction = config.metaTraining.interpolatedFraction;
  if (!(fraction >= 0 && fraction <= 1))
    throw new ConfigError(`${source}: metaTraining.interpolatedFraction must be in [0, 1], found ${fraction}`);
  const scale = config.metaTraining.logitScale;
  if (scale !== undefined && scale !== 'calibrated' && !(typeof scale === 'number' && scale > 0 && Number.isFinite(scale))) {
    throw new ConfigError(`${source}: metaTraining.logitScale must be a positive number or "calibrated", found ${JSON.stringify(scale)}`);
  }
  for (const [layer, ratio] of Object.entries(config.inversion.pruning)) {
    if (!/^\d+$/.test(layer) || !(ratio >= 0 && ratio < 1))
      throw new ConfigError(`${source}: inversion.pruning must map layer indices to ratios in [0, 1), found ${layer}: ${ratio}`);
  }
  if (config.zoo.heldOut !== undefined) positiveInteger(config.zoo.heldOut, `${source}: zoo.heldOut`);
  if (config.metaTraining.patience !== undefined) positiveInteger(config.metaTraining.patience, `${source}: metaTraining.patience`);
  const { headInit } = config.zoo;
  if (headInit !== undefined && headInit !== 'random' && headInit !== 'prototypes')
    throw new ConfigError(`${source}: zoo.headInit must be "random" or "prototypes", found ${JSON.stringify(headInit)}`);
  if (config.zoo.augment !== undefined) shapeAugmentFrom(config.zoo.augment, `${source}: zoo.augment`);
  if (config.zoo.adversarial !== undefined) checkAdversarial(config.zoo.adversarial, `${source}: zoo.adversarial`);
  for (const key of ['tvWeight', 'diversityWeight', 'unadaptedWeight', 'inkWeight'] as const) {
    const weight = config.inversion[key];
    if (weight !== undefined && !(typeof weight === 'number' && weight >= 0 && Number.isFinite(weight)))
      throw new ConfigError(`${source}: inversion.${key} must be a finite number ≥ 0, found ${JSON.stringify(weight)}`);
  }
  const { flip, prior, minCropScale, jitterCopies, parameterSide, strokes, maxStrokeWidth, strokeSegments, generator } = config.inversion;
  const side = config.data.imageSize;
  if (strokes !== undefined && !(Number.isInteger(strokes) && strokes >= 0))
    throw new ConfigError(`${source}: inversion.strokes must be a non-negative integer, found ${JSON.stringify(strokes)}`);
  if (parameterSide !== undefined && !(Number.isInteger(parameterSide) && parameterSide >= 2 && parameterSide <= side))
    throw new ConfigError(
      `${source}: inversion.parameterSide must be an integer in 2..${side} (data.imageSize), found ${JSON.stringify(parameterSide)}`,
    );
  if ((strokes ?? 0) > 0 && parameterSide !== undefined && parameterSide !== side)
    throw new ConfigError(
      `${source}: inversion.parameterSide sets the grid of free pixels; it does not apply with inversion.strokes (${strokes})`,
    );
  if (maxStrokeWidth !== undefined && !((strokes ?? 0) > 0))
    throw new ConfigError(`${source}: inversion.maxStrokeWidth sets the strokes' widths; it needs inversion.strokes > 0`);
  if (
    maxStrokeWidth !== undefined &&
    !(typeof maxStrokeWidth === 'number' && maxStrokeWidth >= STROKE_WIDTH.least && maxStrokeWidth <= STROKE_WIDTH.largestMost)
  )
    throw new ConfigError(
      `${source}: inversion.maxStrokeWidth must be in [${STROKE_WIDTH.least}, ${STROKE_WIDTH.largestMost}] pixels of a 32-pixel side, found ${JSON.stringify(maxStrokeWidth)}`,
    );
  if (strokeSegments !== undefined && !((strokes ?? 0) > 0))
    throw new ConfigError(`${source}: inversion.strokeSegments shapes the strokes; it needs inversion.strokes > 0`);
  if (strokeSegments !== undefined && !(Number.isInteger(strokeSegments) && strokeSegments >= 1 && strokeSegments <= MAX_STROKE_SEGMENTS))
    throw new ConfigError(
      `${source}: inversion.strokeSegments must be an integer in 1..${MAX_STROKE_SEGMENTS}, found ${JSON.stringify(strokeSegments)}`,
    );
  if (minCropScale !== undefined && !(typeof minCropScale === 'number' && minCropScale > 0 && minCropScale <= 1))
    throw new ConfigError(`${source}: inversion.minCropScale must be in (0, 1], found ${JSON.stringify(minCropScale)}`);
  if (jitterCopies !== undefined && !(Number.isInteger(jitterCopies) && jitterCopies >= 1 && jitterCopies <= MAX_JITTER_COPIES))
    throw new ConfigError(
      `${source}: inversion.jitterCopies must be an integer in 1..${MAX_JITTER_COPIES}, found ${JSON.stringify(jitterCopies)}`,
    );
  if (generator !== undefined && !(INVERSION_GENERATORS as readonly string[]).includes(generator))
    throw new ConfigError(
      `${source}: inversion.generator must be one of ${INVERSION_GENERATORS.join(', ')}, found ${JSON.stringify(generator)}`,
    );
  if (generator !== undefined && ((strokes ?? 0) > 0 || parameterSide !== undefined))
    throw new ConfigError(
      `${source}: inversion.generator draws the images; inversion.strokes and inversion.parameterSide do not apply with it`,
    );
  if (prior !== undefined && !(IMAGE_PRIORS as readonly string[]).includes(prior))
    throw new ConfigError(`${source}: inversion.prior must be one of ${IMAGE_PRIORS.join(', ')}, found ${JSON.stringify(prior)}`);
  if (flip !== undefined && typeof flip !== 'boolean')
    throw new ConfigError(`${source}: inversion.flip must be true or false, found ${JSON.stringify(flip)}`);
  for (const [where, targets] of [
    ['zoo.targets', config.zoo.targets],
    ['metaTraining.targets', config.metaTraining.targets],
  ] as const) {
    if (targets !== undefined && !(Array.isArray(targets) && targets.length > 0 && targets.every((t) => PROJECTION_NAMES.includes(t)))) {
      throw new ConfigError(
        `${source}: ${where} must be a non-empty list of ${PROJECTION_NAMES.join(', ')}, found ${JSON.stringify(targets)}`,
      );
    }
  }
  const meta = config.metaTraining;
  if (meta.rank !== undefined) positiveInteger(meta.rank, `${source}: metaTraining.rank`);
  const main = config.data.main;
  if (main !== undefined && !(MAIN_LOADERS as readonly string[]).includes(main?.loader)) {
    throw new ConfigError(
      `${source}: data.main.loader must be one of ${MAIN_LOADERS.join(', ')} (a data set with base, validation and novel splits), found ${JSON.stringify(main?.loader)}`,
    );
  }
  if (main !== undefined) validateDatasetSpec(main);
  const choices = config.choicesAfterNovel;
  if (choices !== undefined && !(Array.isArray(choices) && choices.every((c) => typeof c === 'string' && c.trim() !== ''))) {
    throw new ConfigError(`${source}: choicesAfterNovel must be a list of sentences, found ${JSON.stringify(choices)}`);
  }
  if (!Array.isArray(config.evaluation.shots) || config.evaluation.shots.length === 0)
    throw new ConfigError(`${source}: evaluation.shots must be a non-empty list`);
  const contrast = config.contrast;
  const text = (v: unknown) => typeof v === 'string' && v.trim() !== '';
  if (contrast !== undefined && !(Array.isArray(contrast) && contrast.every((c) => text(c?.label) && text(c?.file)))) {
    throw new ConfigError(`${source}: contrast must be a list of { "label": …, "file": … }, found ${JSON.stringify(contrast)}`);
  }
  return config;
}

export function loadRunConfig(file: string): RunConfig {
  const json = readJsonFile(file, 'not a readable JSON configuration');
  return validateRunConfig(json as RunConfig, file);
}

/** The pruning schedule of a configuration as the model takes it ({layer: ratio}). */
export function pruningSchedule(pruning: Record<string, number>): Record<number, number> {
  return Object.fromEntries(Object.entries(pruning).map(([layer, ratio]) => [Number(layer), ratio]));
}
