import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEmojiDataset, loadGlyphDataset, TRAINING_SPLITS, type StoreDataset } from '../../src/data';
import { withoutBaseCopies } from '../../src/data/base-copies';

const temp: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-build-test-'));
  temp.push(dir);
  return dir;
};
afterAll(() => temp.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

describe('data build', () => {
  it('is reproducible: the same checksum when built twice into two cache directories', async () => {
    const [a, b] = [tempDir(), tempDir()];
    const first = await loadEmojiDataset({ limit: 2, cacheDir: a });
    const second = await loadEmojiDataset({ limit: 2, cacheDir: b });
    expect(second.checksum).toBe(first.checksum);
    expect(second.classes).toEqual(first.classes);
    expect(new Set(first.classes.map((c) => c.split))).toEqual(new Set(['pretrain', 'base', 'validation', 'novel']));
    expect(first.imageCount).toBeGreaterThan(first.classes.length * 6 - 1); // every class has ≥ 6 artists
    const storeBytes = fs.readFileSync(path.join(a, 'emoji-32-limit2.bin'));
    expect(storeBytes.equals(fs.readFileSync(path.join(b, 'emoji-32-limit2.bin')))).toBe(true);
    // a second load reads the validated cache instead of rebuilding
    const cached = await loadEmojiDataset({ limit: 2, cacheDir: a });
    expect(cached.checksum).toBe(first.checksum);
  });

  it('rejects option values that are not positive integers', async () => {
    await expect(loadEmojiDataset({ limit: 0, cacheDir: tempDir() })).rejects.toThrow(
      /loadEmojiDataset: limit must be a positive integer, found 0/,
    );
    await expect(loadGlyphDataset({ size: 31.5, cacheDir: tempDir() })).rejects.toThrow(
      /loadGlyphDataset: size must be a positive integer, found 31.5/,
    );
  });
});

/** Pixel hash of each image, keyed by source: a held-out image equal to a base one leaks a class. */
function baseCopies(dataset: StoreDataset): string[] {
  const hash = (pixels: Float32Array) => createHash('sha256').update(new Uint8Array(pixels.buffer)).digest('hex');
  const base = new Map<string, string>();
  for (const c of dataset.classes.filter((c) => TRAINING_SPLITS.includes(c.split))) {
    for (const r of dataset.imagesOf(c.id)) base.set(`${r.source} ${hash(dataset.pixels(r))}`, c.name);
  }
  return dataset.classes
    .filter((c) => !TRAINING_SPLITS.includes(c.split))
    .flatMap((c) =>
      dataset
        .imagesOf(c.id)
        .map((r) => base.get(`${r.source} ${hash(dataset.pixels(r))}`))
        .filter((name): name is string => name !== undefined)
        .map((name) => `${c.name} (${c.split}) = ${name} (base)`),
    );
}

function expectSplitsDisjoint(dataset: StoreDataset, splits: string[]): void {
  const ids = dataset.classes.map((c) => c.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(new Set(dataset.classes.map((c) => c.split))).toEqual(new Set(splits));
  const imageCount = dataset.classes.reduce((n, c) => n + dataset.imagesOf(c.id).length, 0);
  expect(imageCount).toBe(dataset.imageCount); // every image belongs to exactly one listed class
  expect(baseCopies(dataset)).toEqual([]);
}

// The full default sets, from the shared default cache (built on first use, ~1 min when cold).
describe('splits of the default data', () => {
  it('emoji: no class in two splits, and no held-out image copies a base image', async () => {
    const emoji = await loadEmojiDataset();
    expectSplitsDisjoint(emoji, ['pretrain', 'base', 'validation', 'novel']);
    // the backbone's pretraining categories and the zoo's are disjoint (the paper's premise)
    const categories = (split: string) => new Set(emoji.classes.filter((c) => c.split === split).map((c) => c.category));
    expect([...categories('pretrain')].filter((g) => categories('base').has(g))).toEqual([]);
    expect(emoji.classes.filter((c) => c.split === 'novel').length).toBeGreaterThan(200);
  });

  it('glyphs: no class in two splits, and homoglyphs of base characters are left out', async () => {
    const glyphs = await loadGlyphDataset();
    expectSplitsDisjoint(glyphs, ['base', 'test']);
    const ids = new Set(glyphs.classes.map((c) => c.id));
    expect(ids.has('glyph:0041')).toBe(true); // Latin A (base) ...
    expect(ids.has('glyph:0391')).toBe(false); // ... so not Greek Alpha (test)
    expect(ids.has('glyph:03bb')).toBe(true); // Greek lambda has no base twin
  });
});

describe('withoutBaseCopies', () => {
  const px = (v: number) => new Uint8Array(12).fill(v);
  it('drops held-out images equal to a base image of the same source, then classes below the minimum', () => {
    const classes = [
      { id: 'b', name: 'b', split: 'base' as const },
      { id: 'n', name: 'n', split: 'novel' as const },
      { id: 'm', name: 'm', split: 'novel' as const },
    ];
    const images = [
      { classId: 'b', source: 'x', pixels: px(1) },
      { classId: 'b', source: 'y', pixels: px(2) },
      { classId: 'n', source: 'x', pixels: px(1) }, // copy of b by x: dropped
      { classId: 'n', source: 'y', pixels: px(1) }, // same pixels, other source: kept
      { classId: 'n', source: 'z', pixels: px(3) },
      { classId: 'm', source: 'x', pixels: px(1) },
      { classId: 'm', source: 'y', pixels: px(4) }, // left with 1 < 2
    ];
    const kept = withoutBaseCopies(classes, images, 2);
    expect(kept.classes.map((c) => c.id)).toEqual(['b', 'n']);
    expect(kept.images.map((i) => `${i.classId}/${i.source}`)).toEqual(['b/x', 'b/y', 'n/y', 'n/z']);
  });

  it("guards against copies of the backbone's pretraining images too, and keeps training splits whole", () => {
    const classes = [
      { id: 'p', name: 'p', split: 'pretrain' as const },
      { id: 'b', name: 'b', split: 'base' as const },
      { id: 'v', name: 'v', split: 'validation' as const },
    ];
    const images = [
      { classId: 'p', source: 'x', pixels: px(1) },
      { classId: 'b', source: 'x', pixels: px(1) }, // a zoo image equal to a pretraining one: both train, kept
      { classId: 'v', source: 'x', pixels: px(1) }, // held out, equal to a pretraining image: dropped
      { classId: 'v', source: 'y', pixels: px(5) },
    ];
    const kept = withoutBaseCopies(classes, images, 1);
    expect(kept.images.map((i) => `${i.classId}/${i.source}`)).toEqual(['p/x', 'b/x', 'v/y']);
  });
});
