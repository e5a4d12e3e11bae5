import * as fs from 'fs';
import * as path from 'path';
import { classesOf, type ImageDataset, type Split } from '../data/dataset';
import { DATASET_LOADERS, loadDatasetSpec, validateDatasetSpec, type DatasetSpec } from '../data/dataset-spec';
import type { FeatureTable } from '../backbone/frozen-evaluation';
import { sampleEpisodes } from '../data/episodes';
import { ConfigError } from '../errors';
import { writeJsonAtomic } from '../io/atomic-write';
import type { RunControl } from '../progress/events';
import type { RunConfig } from '../reproduce/config';
import type { PipelinePorts } from '../reproduce/ports';
import { pipelineEpisodes } from '../reproduce/wiring';
import type { OptionValues } from './commands';

/**
 * --data VALUE: an existing directory is an image folder (its path made absolute, so that worker
 * processes find it too); a built-in loader name (emoji, glyph-domain, ...) is that data set;
 * absent: undefined (the configuration's data set).
 */
export function datasetOption(values: OptionValues): DatasetSpec | undefined {
  const value = values.data;
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new ConfigError('--data expects an image folder or a data set name');
  if (fs.existsSync(value) && fs.statSync(value).isDirectory()) return { loader: 'folder', path: path.resolve(value) };
  if ((DATASET_LOADERS as readonly string[]).includes(value) && value !== 'folder')
    return validateDatasetSpec({ loader: value as DatasetSpec['loader'] });
  throw new ConfigError(
    `--data: "${value}" is neither a folder nor a data set name; expected an image folder (<dir>/<class>/<image>, docs/your-own-images.md) or one of ${DATASET_LOADERS.filter((l) => l !== 'folder').join(', ')}`,
  );
}

/**
 * The episode set names of a data set given by --data: "<loader>-<split>" (folder-validation,
 * folder-novel, emoji-base, ...), and "<loader>" alone for its meta-test classes (novel, or test
 * when it has no novel classes, as a folder without splits).
 */
export function datasetSetName(spec: DatasetSpec, split?: Split): string {
  return split ? `${spec.loader}-${split}` : spec.loader;
}

/** `config` with `spec` as its main data set (the zoo's base classes, the oracle's real images). */
export function withMainData(config: RunConfig, spec: DatasetSpec): RunConfig {
  return { ...config, data: { ...config.data, main: spec } };
}

/**
 * Ports that take their data from `spec`: the zoo and the oracle's real images from its base
 * classes (as the configuration's data.main), and its episode sets (datasetSetName) from its
 * splits; every other call goes to `ports`. Without a spec, `ports` itself. A first build of the
 * data set reports to `control` (the command's progress bar).
 */
export function withDataset(ports: PipelinePorts, spec: DatasetSpec | undefined, control: RunControl = {}): PipelinePorts {
  if (spec === undefined) return ports;
  let imageSize = spec.size ?? 32; // of the last backbone loaded: episodes are drawn at its size
  const loaded = new Map<number, Promise<ImageDataset>>();
  const featureTables = new Map<number, WeakMap<object, FeatureTable>>(); // by image size, shared by the lists of a size
  const load = (size: number) => {
    if (!loaded.has(size)) loaded.set(size, loadDatasetSpec({ ...spec, size }, control)); // a first build shows as a progress bar
    return loaded.get(size)!;
  };
  const names = new Set(
    ['base', 'validation', 'novel', 'test'].map((split) => datasetSetName(spec, split as Split)).concat(datasetSetName(spec)),
  );
  return {
    runner: ports.runner,
    async loadBackbone(config) {
      const backbone = await ports.loadBackbone(config);
      imageSize = backbone.config.imageSize;
      return backbone;
    },
    async zoo(backbone, config, dir, control) {
      const data = await load(backbone.config.imageSize);
      if (classesOf(data, 'base').length === 0) {
        throw new ConfigError(
          `${describe(spec)} has no base classes to tune a zoo on: put class folders in <folder>/base/ (or give them "base" in splits.json), docs/your-own-images.md`,
        );
      }
      return ports.zoo(backbone, withMainData(config, spec), dir, control);
    },
    invert: (...args) => ports.invert(...args),
    realImages: (backbone, entry, config) => ports.realImages(backbone, entry, withMainData(config, spec)),
    async episodes(set, shape, count, seed) {
      if (!names.has(set)) return ports.episodes(set, shape, count, seed);
      const data = await load(imageSize);
      const named = set.slice(spec.loader.length + 1) as Split;
      const split: Split = named || (classesOf(data, 'novel').length > 0 ? 'novel' : 'test');
      if (classesOf(data, split).length === 0) {
        throw new ConfigError(
          `${describe(spec)} has no ${split} classes for episode set "${set}": put class folders in <folder>/${split}/ (or give them "${split}" in splits.json), docs/your-own-images.md`,
        );
      }
      if (!featureTables.has(imageSize)) featureTables.set(imageSize, new WeakMap());
      const list = sampleEpisodes(data, split, { ...shape, count, seed });
      return pipelineEpisodes(data, { ...spec, size: imageSize }, list, featureTables.get(imageSize));
    },
    dispose() {
      loaded.clear();
      featureTables.clear();
      ports.dispose();
    },
  };
}

function describe(spec: DatasetSpec): string {
  return spec.loader === 'folder' ? `image folder ${spec.path}` : `data set ${spec.loader}`;
}

/**
 * reproduce --data: the configuration with `spec` as its main data set, written beside the reports
 * (the report cites it as its --config) and named after the data ("tiny-cats"); returns its path.
 */
export function writeDataConfig(config: RunConfig, spec: DatasetSpec, outDir: string): string {
  const slug = (spec.loader === 'folder' ? path.basename(spec.path!) : spec.loader).replace(/[^A-Za-z0-9_-]+/g, '-');
  const name = `${config.name}-${slug}`;
  const file = path.join(outDir, `${name}.config.json`);
  writeJsonAtomic(file, { ...withMainData(config, spec), name });
  return file;
}
