import { parseRequest, selectBackend } from '../backend/select';
import { loadShippedBackbone } from '../backbone/shipped';
import type { ImageDataset, Split } from '../data/dataset';
import { datasetSpecKey, loadDatasetSpec, type DatasetSpec } from '../data/dataset-spec';
import { episodeSource, sampleEpisodes, type EpisodeList } from '../data/episodes';
import { ConfigError, MissingResourceError } from '../errors';
import { loadHfClipVision } from '../io/hf-clip';
import { normalizeImages } from '../model/preprocess';
import { TINY_VIT } from '../model/config';
import { VisionTransformer } from '../model/vision-transformer';
import { buildZoo, loadZoo, readZooManifest } from '../zoo';
import { checkAdversarial } from '../training/adversarial';
import { shapeAugmentFrom } from '../training/shape-augment';
import { featureTable, tableEpisodeSource, type FeatureTable } from '../backbone/frozen-evaluation';
import { measuredRunner, type JobRunner } from '../parallel/job-runner';
import { invertZooEntries } from './invert-zoo';
import { buildZooAsJobs } from './zoo-jobs';
import { realImageSet } from './real-images';
import type { RunConfig } from './config';
import { mainSpec } from './main-set';
import type { PipelineEpisodes, PipelinePorts } from './ports';

/** The episode sets the pipeline knows: which data set and which of its splits. */
const EPISODE_SETS: Record<string, { split: Split; loader: DatasetSpec['loader'] }> = {
  'emoji-validation': { split: 'validation', loader: 'emoji' },
  'emoji-novel': { split: 'novel', loader: 'emoji' },
  'glyph-domain-validation': { split: 'validation', loader: 'glyph-domain' },
  'glyph-domain-novel': { split: 'novel', loader: 'glyph-domain' },
  glyphs: { split: 'test', loader: 'glyphs' },
  mnist: { split: 'test', loader: 'mnist' },
  'fashion-mnist': { split: 'test', loader: 'fashion-mnist' },
};

function loadBackbone(config: RunConfig): VisionTransformer {
  const b = config.backbone;
  if (b.source === 'shipped') return loadShippedBackbone(b.name);
  if (b.source === 'hf') {
    const { config: vit, weights } = loadHfClipVision(b.path);
    return new VisionTransformer(vit, weights);
  }
  return VisionTransformer.random(b.config === 'tiny' ? TINY_VIT : b.config, b.seed ?? 0);
}

/**
 * The episodes of `list` on `data` (loaded from `spec`) as the pipeline evaluates them: tensors,
 * origin (for jobs), feature-table view. `tables`: the feature tables already computed on `data`,
 * by the key that stands for their feature function; shared by every list of the data set, so a
 * row's features of an image are computed once per run, whichever list draws it.
 */
export function pipelineEpisodes(
  data: ImageDataset,
  spec: DatasetSpec,
  list: EpisodeList,
  tables: WeakMap<object, FeatureTable> = new WeakMap(),
): PipelineEpisodes {
  return {
    ...episodeSource(data, list, normalizeImages),
    origin: { dataset: spec, list },
    withFeatures: async (featureFn, key) => {
      const table = await featureTable(data, list, featureFn, undefined, key && tables.get(key));
      if (key) tables.set(key, table);
      return tableEpisodeSource(list, table);
    },
  };
}

/**
 * The real pipeline behind PipelinePorts: the backbone of the configuration, the base classes of
 * the main domain (data.main, main-set.ts) for the zoo, inversion with the shipped image prior as
 * jobs of `runner` (invert-zoo.ts), and the data sets' fixed episodes. `runner` (default
 * measuredRunner on the --backend request) is where the jobs run; a remote one (src/queue
 * queueRunner) also gets the zoo, one pretune-lora job per LoRA (zoo-jobs.ts), and the
 * reproduction's evaluation (evaluation-stage.ts). Data sets load once per process (cached on disk
 * after their first build).
 */
export function createPorts(options: { backend?: string; runner?: JobRunner } = {}): PipelinePorts {
  const datasets = new Map<string, Promise<ImageDataset>>();
  const featureTables = new Map<string, WeakMap<object, FeatureTable>>(); // by data set key (pipelineEpisodes)
  const dataset = (key: string, load: () => Promise<ImageDataset>) => {
    if (!datasets.has(key)) datasets.set(key, load());
    return datasets.get(key)!;
  };
  const request = options.backend === undefined ? undefined : parseRequest(options.backend, '--backend');
  const ready = selectBackend(request);
  const runner = options.runner ?? measuredRunner({ backend: request });
  let imageSize = TINY_VIT.imageSize; // of the last backbone loaded: episodes are drawn at its size
  let main: DatasetSpec = { loader: 'emoji' }; // data.main of the last configuration loaded: its splits are episode sets too

  return {
    runner,

    async loadBackbone(config) {
      await ready;
      const backbone = loadBackbone(config);
      imageSize = backbone.config.imageSize;
      main = mainSpec(config);
      return backbone;
    },

    async zoo(backbone, config, dir, control) {
      const manifest = readZooManifest(dir);
      if (manifest && manifest.recipe === null) return loadZoo(dir, backbone); // imported LoRAs only
      const spec: DatasetSpec = { ...mainSpec(config), size: backbone.config.imageSize };
      const main = await dataset(datasetSpecKey(spec), () => loadDatasetSpec(spec));
      const z = config.zoo;
      const build = {
        size: z.size,
        ways: z.ways,
        shots: z.shots,
        heldOut: z.heldOut,
        rank: z.rank,
        targets: z.targets,
        augment: z.augment && shapeAugmentFrom(z.augment, 'zoo.augment'),
        adversarial: z.adversarial && checkAdversarial(z.adversarial, 'zoo.adversarial'),
        headInit: z.headInit,
        steps: z.steps,
        learningRate: z.learningRate,
        seed: config.evaluation.seed,
        onEvent: control.onEvent,
        signal: control.signal,
      };
      return runner.remote ? buildZooAsJobs(runner, backbone, main, spec, config, dir, build) : buildZoo(backbone, main, dir, build);
    },

    async invert(backbone, zoo, entries, config, pruning, out, control) {
      if (!zoo.directory)
        throw new ConfigError('inverting a zoo through jobs needs the zoo saved in a directory (the jobs read its LoRA files)');
      return invertZooEntries(backbone, zoo.directory, entries, config, pruning, out, { ...control, runner });
    },

    async realImages(backbone, entry, config) {
      if (!entry.head)
        throw new ConfigError(`LoRA "${entry.id}" has no task head, so it cannot label real images (PEFT adapters carry none)`);
      const spec: DatasetSpec = { ...mainSpec(config), size: backbone.config.imageSize };
      const main = await dataset(datasetSpecKey(spec), () => loadDatasetSpec(spec));
      const perClass = config.inversion.shots + config.inversion.queries;
      // capped, never cycled: a class with fewer real images than an inversion makes cuts every
      // class of the LoRA to its count (record.imagesPerClass, record.capped say so)
      return realImageSet(backbone, main, entry, perClass, config.evaluation.seed, { cap: true });
    },

    async episodes(set, shape, count, seed) {
      // the main domain's splits ("folder-novel" for an image folder), else a named set
      const mainSplit = (['base', 'validation', 'novel', 'test'] as const).find((split) => set === `${main.loader}-${split}`);
      const known = mainSplit
        ? { split: mainSplit, spec: main }
        : EPISODE_SETS[set] && { split: EPISODE_SETS[set].split, spec: { loader: EPISODE_SETS[set].loader } };
      if (!known)
        throw new ConfigError(
          `unknown episode set "${set}"; expected one of ${[...Object.keys(EPISODE_SETS), `${main.loader}-<split>`].join(', ')}`,
        );
      let data: ImageDataset;
      const spec: DatasetSpec = { ...known.spec, size: imageSize };
      try {
        data = await dataset(datasetSpecKey(spec), () => loadDatasetSpec(spec));
      } catch (error) {
        if (error instanceof MissingResourceError) return null;
        throw error;
      }
      const key = datasetSpecKey(spec);
      if (!featureTables.has(key)) featureTables.set(key, new WeakMap());
      return pipelineEpisodes(data, spec, sampleEpisodes(data, known.split, { ...shape, count, seed }), featureTables.get(key));
    },

    dispose() {
      datasets.clear();
      featureTables.clear();
    },
  };
}
