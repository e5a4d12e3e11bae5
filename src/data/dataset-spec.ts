import * as path from 'path';
import { ConfigError } from '../errors';
import type { RunControl } from '../progress/events';
import { loadFashionMnist, loadMnist } from './digits';
import { loadEmojiDataset } from './emoji';
import { loadGlyphDomainDataset } from './glyph-domain';
import { loadGlyphDataset } from './glyphs';
import { loadImageFolder } from './image-folder';
import type { StoreDataset } from './store-dataset';

/** A data set by name, as plain data (a worker job, a configuration): which loader, at what size. */
export interface DatasetSpec {
  loader: 'emoji' | 'glyphs' | 'glyph-domain' | 'mnist' | 'fashion-mnist' | 'folder';
  size?: number; // pixels, the loader's default when omitted (32)
  limit?: number; // emoji only: first n emoji of each category
  path?: string; // folder only (required): the image folder; give it absolute when other processes load the spec
  cacheDir?: string; // default: the loaders' default cache
}

export const DATASET_LOADERS: readonly DatasetSpec['loader'][] = ['emoji', 'glyphs', 'glyph-domain', 'mnist', 'fashion-mnist', 'folder'];

/** Throws a ConfigError naming the first field of `spec` that no loader accepts. */
export function validateDatasetSpec(spec: DatasetSpec): DatasetSpec {
  if (!DATASET_LOADERS.includes(spec?.loader)) {
    throw new ConfigError(`dataset spec: loader must be one of ${DATASET_LOADERS.join(', ')}, found ${JSON.stringify(spec?.loader)}`);
  }
  if (spec.limit !== undefined && spec.loader !== 'emoji') {
    throw new ConfigError(`dataset spec: limit applies to the emoji loader only, found limit ${spec.limit} for ${spec.loader}`);
  }
  if (spec.loader === 'folder' && (typeof spec.path !== 'string' || spec.path === '')) {
    throw new ConfigError(`dataset spec: the folder loader needs path (the image folder), found ${JSON.stringify(spec.path)}`);
  }
  if (spec.path !== undefined && spec.loader !== 'folder') {
    throw new ConfigError(
      `dataset spec: path applies to the folder loader only, found path ${JSON.stringify(spec.path)} for ${spec.loader}`,
    );
  }
  return spec;
}

/**
 * The dataset a spec names, through its src/data loader (which reads the cache, or builds it the
 * first time: build it once before starting workers, so that they only read it); a build reports
 * its progress to `control.onEvent`.
 */
export function loadDatasetSpec(spec: DatasetSpec, control: RunControl = {}): Promise<StoreDataset> {
  validateDatasetSpec(spec);
  const common = { size: spec.size, cacheDir: spec.cacheDir, onEvent: control.onEvent, signal: control.signal };
  switch (spec.loader) {
    case 'emoji':
      return loadEmojiDataset({ ...common, limit: spec.limit });
    case 'glyphs':
      return loadGlyphDataset(common);
    case 'glyph-domain':
      return loadGlyphDomainDataset(common);
    case 'mnist':
      return loadMnist(common);
    case 'fashion-mnist':
      return loadFashionMnist(common);
    case 'folder':
      return loadImageFolder(spec.path!, common);
  }
}

/** A key equal for specs that load the same dataset (a folder's path resolved against the working directory). */
export function datasetSpecKey(spec: DatasetSpec): string {
  const key: unknown[] = [spec.loader, spec.size ?? null, spec.limit ?? null, spec.cacheDir ?? null];
  if (spec.path !== undefined) key.push(path.resolve(spec.path));
  return JSON.stringify(key);
}
