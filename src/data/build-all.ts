import { MissingResourceError } from '../errors';
import type { RunControl } from '../progress/events';
import { loadFashionMnist, loadMnist } from './digits';
import { loadEmojiDataset } from './emoji';
import { loadGlyphDomainDataset } from './glyph-domain';
import { loadGlyphDataset } from './glyphs';
import type { StoreDataset } from './store-dataset';

export interface BuildAllOptions extends RunControl {
  size?: number; // 32 (default) or 64
  cacheDir?: string;
}

/** Every data set the project uses, built (or read from the cache); an optional set that is absent is reported, not built. */
export interface BuiltData {
  datasets: StoreDataset[];
  seconds: Record<string, number>; // wall time per set (build, or cache validation)
  missing: { name: string; message: string }[];
}

/** Builds the emoji, glyph, glyph-domain (B), MNIST and Fashion-MNIST sets in turn (glyph-domain and Fashion-MNIST are optional). */
export async function buildAllData(options: BuildAllOptions = {}): Promise<BuiltData> {
  const common = { size: options.size, cacheDir: options.cacheDir, onEvent: options.onEvent, signal: options.signal };
  const built: BuiltData = { datasets: [], seconds: {}, missing: [] };
  const steps: [string, () => Promise<StoreDataset>, boolean][] = [
    ['emoji', () => loadEmojiDataset(common), false],
    ['glyphs', () => loadGlyphDataset(common), false],
    ['glyph-domain', () => loadGlyphDomainDataset(common), true],
    ['mnist', () => loadMnist(common), false],
    ['fashion-mnist', () => loadFashionMnist(common), true],
  ];
  for (const [name, load, optional] of steps) {
    const started = performance.now();
    try {
      const dataset = await load();
      built.datasets.push(dataset);
      built.seconds[dataset.name] = (performance.now() - started) / 1000;
    } catch (error) {
      if (!optional || !(error instanceof MissingResourceError)) throw error;
      built.missing.push({ name, message: error.message });
    }
  }
  return built;
}
