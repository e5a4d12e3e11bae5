import * as fs from 'fs';
import * as path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetSpecKey, loadDatasetSpec, validateDatasetSpec, type DatasetSpec } from '../../src/data/dataset-spec';
import { loadImageFolder } from '../../src/data/image-folder';
import { summarizeDataset } from '../../src/data/summary';
import { ConfigError } from '../../src/errors';
import type { RunEvent } from '../../src/progress/events';
import { removeTemp, tempDir, writeClass, writeImage } from './image-folder-fixtures';

let tmp: string;
beforeAll(() => {
  tmp = tempDir('image-folder');
});
afterAll(() => removeTemp(tmp));

/** Every file under `dir` with its size and mtime: equal before and after a load means the folder was only read. */
function listing(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => path.join(e.parentPath, e.name))
    .map((p) => {
      const s = fs.lstatSync(p);
      return `${path.relative(dir, p)} ${s.size} ${s.mtimeMs}`;
    })
    .sort();
}

function recorder(): { events: RunEvent[]; onEvent: (e: RunEvent) => void; steps: () => number[] } {
  const events: RunEvent[] = [];
  return { events, onEvent: (e) => events.push(e), steps: () => events.flatMap((e) => (e.kind === 'step' ? [e.step] : [])) };
}

const mean = (pixels: Float32Array, channel: number) => {
  let sum = 0;
  for (let i = channel; i < pixels.length; i += 3) sum += pixels[i];
  return sum / (pixels.length / 3);
};

describe('loadImageFolder: a folder of class folders', () => {
  it('makes each sub-folder a class "folder:<name>" in split test, decoding PNG, JPEG, WebP, GIF and SVG to 32×32 RGB', async () => {
    const root = path.join(tmp, 'flat');
    await writeImage(path.join(root, 'red', 'a.png'), [255, 0, 0]);
    await writeImage(path.join(root, 'red', 'b.jpg'), [255, 0, 0], { format: 'jpeg' });
    await writeImage(path.join(root, 'red', 'c.webp'), [255, 0, 0], { format: 'webp' });
    await writeImage(path.join(root, 'blue', 'd.gif'), [0, 0, 255], { format: 'gif' });
    fs.writeFileSync(
      path.join(root, 'blue', 'e.svg'),
      '<svg xmlns="http://www.w3.org/2000/svg" width="6" height="6"><rect width="6" height="6" fill="#0000ff"/></svg>',
    );
    const before = listing(root);
    const data = await loadImageFolder(root, { cacheDir: path.join(tmp, 'cache-flat') });
    expect(data.imageSize).toBe(32);
    expect(data.classes).toEqual([
      { id: 'folder:blue', name: 'blue', split: 'test' },
      { id: 'folder:red', name: 'red', split: 'test' },
    ]);
    expect(data.imagesOf('folder:red').map((r) => r.source)).toEqual(['red/a.png', 'red/b.jpg', 'red/c.webp']);
    for (const record of data.imagesOf('folder:red')) {
      const pixels = data.pixels(record);
      expect(pixels.length).toBe(32 * 32 * 3);
      expect(mean(pixels, 0)).toBeGreaterThan(0.95);
      expect(mean(pixels, 2)).toBeLessThan(0.05);
    }
    for (const record of data.imagesOf('folder:blue')) expect(mean(data.pixels(record), 2)).toBeGreaterThan(0.95);
    expect(listing(root)).toEqual(before); // nothing written, moved or deleted in the user's folder
  });

  it('composites transparency over white and resizes by scaling the shorter side, then cropping the centre', async () => {
    const root = path.join(tmp, 'resize');
    await writeImage(path.join(root, 'half', 'a.png'), [255, 0, 0], { alpha: 0.5 });
    // 60×10: red | green (columns 20–39) | red; the centre crop of a 4×4 image sees only green
    const wide = Buffer.alloc(60 * 10 * 3);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 60; x++) wide.set(x >= 20 && x < 40 ? [0, 255, 0] : [255, 0, 0], (y * 60 + x) * 3);
    fs.mkdirSync(path.join(root, 'wide'), { recursive: true });
    await (await import('sharp'))
      .default(wide, { raw: { width: 60, height: 10, channels: 3 } })
      .png()
      .toFile(path.join(root, 'wide', 'a.png'));
    const data = await loadImageFolder(root, { size: 4, cacheDir: path.join(tmp, 'cache-resize') });
    const half = data.pixels(data.imagesOf('folder:half')[0]);
    expect(mean(half, 0)).toBeCloseTo(1, 1);
    expect(mean(half, 1)).toBeCloseTo(0.5, 1); // 50 % red over white
    const crop = data.pixels(data.imagesOf('folder:wide')[0]);
    expect(mean(crop, 1)).toBeGreaterThan(0.9);
    expect(mean(crop, 0)).toBeLessThan(0.1);
    expect(summarizeDataset(data).folder!.sourceSizes).toEqual({ '12×8': 1, '60×10': 1 });
  });
  it('reads the first frame of an animated GIF', async () => {
    const root = path.join(tmp, 'animated');
    const [w, h] = [6, 4];
    const frames = Buffer.alloc(w * h * 2 * 3);
    for (let i = 0; i < 2 * w * h; i++) frames.set(i < w * h ? [255, 0, 0] : [0, 0, 255], i * 3); // frame 0 red, frame 1 blue
    fs.mkdirSync(path.join(root, 'anim'), { recursive: true });
    const sharp = (await import('sharp')).default;
    await sharp(frames, { raw: { width: w, height: 2 * h, channels: 3, pageHeight: h } } as never)
      .gif()
      .toFile(path.join(root, 'anim', 'a.gif'));
    expect((await sharp(path.join(root, 'anim', 'a.gif')).metadata()).pages).toBe(2);
    const data = await loadImageFolder(root, { size: 4, cacheDir: path.join(tmp, 'cache-animated') });
    const pixels = data.pixels(data.imagesOf('folder:anim')[0]);
    expect(mean(pixels, 0)).toBeGreaterThan(0.95);
    expect(mean(pixels, 2)).toBeLessThan(0.05);
    expect(summarizeDataset(data).folder!.sourceSizes).toEqual({ '6×4': 1 });
  });
});

describe('loadImageFolder: splits', () => {
  it('takes splits from <root>/{base,validation,novel}/<class>/', async () => {
    const root = path.join(tmp, 'split-folders');
    await writeClass(path.join(root, 'base', 'a'), 2, [255, 0, 0]);
    await writeClass(path.join(root, 'base', 'b'), 3, [0, 255, 0]);
    await writeClass(path.join(root, 'validation', 'c'), 2, [0, 0, 255]);
    await writeClass(path.join(root, 'novel', 'd'), 4, [9, 9, 9]);
    const data = await loadImageFolder(root, { size: 8, cacheDir: path.join(tmp, 'cache-splits') });
    expect(data.classes.map((c) => `${c.id} ${c.split}`)).toEqual([
      'folder:a base',
      'folder:b base',
      'folder:c validation',
      'folder:d novel',
    ]);
    expect(data.imagesOf('folder:d').map((r) => r.source)).toEqual(['novel/d/0.png', 'novel/d/1.png', 'novel/d/2.png', 'novel/d/3.png']);
    const summary = summarizeDataset(data);
    expect(summary.folder).toMatchObject({
      layout: 'split-folders',
      classesPerSplit: { base: 2, validation: 1, novel: 1 },
      imagesPerClass: { min: 2, median: 2.5, max: 4 },
    });
    expect(summary.sources).toEqual({ [fs.realpathSync(root)]: 11 });
  });

  it('takes splits from <root>/splits.json mapping class folders to splits', async () => {
    const root = path.join(tmp, 'splits-file');
    await writeClass(path.join(root, 'cat'), 2, [255, 0, 0]);
    await writeClass(path.join(root, 'dog'), 2, [0, 255, 0]);
    await writeClass(path.join(root, 'cow'), 2, [0, 0, 255]);
    fs.writeFileSync(path.join(root, 'splits.json'), JSON.stringify({ cat: 'base', dog: 'validation', cow: 'novel' }));
    const data = await loadImageFolder(root, { size: 8, cacheDir: path.join(tmp, 'cache-splits-file') });
    expect(Object.fromEntries(data.classes.map((c) => [c.name, c.split]))).toEqual({ cat: 'base', dog: 'validation', cow: 'novel' });
    expect(summarizeDataset(data).folder!.layout).toBe('splits-file');
  });
});

describe('loadImageFolder: the cache', () => {
  it('decodes on the first load only; a changed, added or removed file rebuilds', async () => {
    const root = path.join(tmp, 'cached');
    const cacheDir = path.join(tmp, 'cache-cached');
    await writeClass(path.join(root, 'a'), 3, [255, 0, 0]);
    await writeClass(path.join(root, 'b'), 3, [0, 0, 255]);
    const load = async () => {
      const r = recorder();
      const data = await loadImageFolder(root, { size: 8, cacheDir, onEvent: r.onEvent });
      return { data, decoded: r.steps().at(-1) ?? 0, cacheHit: r.events.some((e) => e.kind === 'phase' && e.phase === 'cache') };
    };
    const first = await load();
    expect(first).toMatchObject({ decoded: 6, cacheHit: false });
    const second = await load();
    expect(second).toMatchObject({ decoded: 0, cacheHit: true });
    expect(second.data.checksum).toBe(first.data.checksum);

    await writeImage(path.join(root, 'a', '0.png'), [0, 255, 0]); // changed content (and mtime)
    fs.utimesSync(path.join(root, 'a', '0.png'), new Date(), new Date(Date.now() + 5000));
    const changed = await load();
    expect(changed).toMatchObject({ decoded: 6, cacheHit: false });
    expect(mean(changed.data.pixels(changed.data.imagesOf('folder:a')[0]), 1)).toBeGreaterThan(0.95);

    await writeImage(path.join(root, 'b', '9.png'), [0, 0, 255]);
    const added = await load();
    expect(added.cacheHit).toBe(false);
    expect(added.data.imagesOf('folder:b')).toHaveLength(4);

    fs.rmSync(path.join(root, 'a', '1.png'));
    const removed = await load();
    expect(removed.cacheHit).toBe(false);
    expect(removed.data.imagesOf('folder:a')).toHaveLength(2);
    expect((await load()).cacheHit).toBe(true);
  });

  it('keeps one store per size, each cached', async () => {
    const root = path.join(tmp, 'sizes');
    const cacheDir = path.join(tmp, 'cache-sizes');
    await writeClass(path.join(root, 'a'), 2, [255, 0, 0]);
    expect((await loadImageFolder(root, { size: 8, cacheDir })).imageSize).toBe(8);
    expect((await loadImageFolder(root, { size: 16, cacheDir })).imageSize).toBe(16);
    const r = recorder();
    await loadImageFolder(root, { size: 8, cacheDir, onEvent: r.onEvent });
    expect(r.steps()).toEqual([]);
  });
});

describe('DatasetSpec { loader: "folder", path }', () => {
  it('loads the same dataset after a round trip through JSON (as worker jobs pass it)', async () => {
    const root = path.join(tmp, 'spec');
    await writeClass(path.join(root, 'a'), 2, [255, 0, 0]);
    await writeClass(path.join(root, 'b'), 2, [0, 255, 0]);
    const spec: DatasetSpec = { loader: 'folder', path: root, size: 8, cacheDir: path.join(tmp, 'cache-spec') };
    const direct = await loadImageFolder(root, { size: 8, cacheDir: spec.cacheDir });
    const viaSpec = await loadDatasetSpec(JSON.parse(JSON.stringify(spec)));
    expect(viaSpec.checksum).toBe(direct.checksum);
    expect(viaSpec.classes).toEqual(direct.classes);
  });

  it('needs a path for the folder loader and takes none for the others; the key tells folders apart', () => {
    expect(() => validateDatasetSpec({ loader: 'folder' })).toThrow(/folder loader needs path/);
    expect(() => validateDatasetSpec({ loader: 'emoji', path: '/x' })).toThrow(ConfigError);
    expect(() => loadDatasetSpec({ loader: 'folder', path: '' })).toThrow(ConfigError);
    expect(datasetSpecKey({ loader: 'folder', path: '/a' })).not.toBe(datasetSpecKey({ loader: 'folder', path: '/b' }));
    expect(datasetSpecKey({ loader: 'folder', path: 'rel' })).toBe(datasetSpecKey({ loader: 'folder', path: path.resolve('rel') }));
    expect(datasetSpecKey({ loader: 'emoji' })).toBe(JSON.stringify(['emoji', null, null, null]));
  });
});
