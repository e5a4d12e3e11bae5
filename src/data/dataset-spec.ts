import { ConfigError } from '../errors';
import { loadFashionMnist, loadMnist } from './digits';
import { loadEmojiDataset } from './emoji';
import { loadGlyphDomainDataset } from './glyph-domain';
import { loadGlyphDataset } from './glyphs';
import type { StoreDataset } from './store-dataset';

/** A data set by name, as plain data (a worker job, a configuration): which loader, at what size. */
export interface DatasetSpec {
  loader: 'emoji' | 'glyphs' | 'glyph-domain' | 'mnist' | 'fashion-mnist';
  size?: number; // pixels, the loader's default when omitted (32)
  limit?: number; // emoji only: first n emoji of each category
  cacheDir?: string; // default: the loaders' default cache
}

const LOADERS: readonly DatasetSpec['loader'][] = ['emoji', 'glyphs', 'glyph-domain', 'mnist', 'fashion-mnist'];

/**
 * The dataset a spec names, through its src/data loader (which reads the cache, or builds it the
 * first time: build it once before starting workers, so that they only read it).
 */
export function loadDatasetSpec(spec: DatasetSpec): Promise<StoreDataset> {
  if (!LOADERS.includes(spec?.loader)) {
    throw new ConfigError(`dataset spec: loader must be one of ${LOADERS.join(', ')}, found ${JSON.stringify(spec?.loader)}`);
  }
  if (spec.limit !== undefined && spec.loader !== 'emoji') {
    throw new ConfigError(`dataset spec: limit applies to the emoji loader only, found limit ${spec.limit} for ${spec.loader}`);
  }
  const common = { size: spec.size, cacheDir: spec.cacheDir };
  switch (spec.loader) {
    case 'emoji': return loadEmojiDataset({ ...common, limit: spec.limit });
    case 'glyphs': return loadGlyphDataset(common);
    case 'glyph-domain': return loadGlyphDomainDataset(common);
    case 'mnist': return loadMnist(common);
    case 'fashion-mnist': return loadFashionMnist(common);
  }
}

/** A key equal for specs that load the same dataset. */
export function datasetSpecKey(spec: DatasetSpec): string {
  return JSON.stringify([spec.loader, spec.size ?? null, spec.limit ?? null, spec.cacheDir ?? null]);
}
