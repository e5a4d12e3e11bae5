import * as fs from 'fs';
import * as path from 'path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { sampleEpisodes } from '../../src/data/episodes';
import { loadImageFolder } from '../../src/data/image-folder';
import { StoreWriter } from '../../src/data/image-store';
import { summarizeDataset } from '../../src/data/summary';
import { CancelledError, ConfigError } from '../../src/errors';
import type { RunEvent } from '../../src/progress/events';
import { removeTemp, tempDir, writeClass } from './image-folder-fixtures';

let tmp: string;
beforeAll(() => {
  tmp = tempDir('image-folder-bad');
});
afterAll(() => removeTemp(tmp));
afterEach(() => vi.restoreAllMocks());

let folders = 0;
/** A fresh folder root (and its own cache) for one test. */
function fresh(): { root: string; cacheDir: string } {
  folders += 1;
  return { root: path.join(tmp, `root-${folders}`), cacheDir: path.join(tmp, `cache-${folders}`) };
}

const skippedOf = async (root: string, cacheDir: string) =>
  summarizeDataset(await loadImageFolder(root, { size: 8, cacheDir })).folder!.skipped;

describe('loadImageFolder skips what it cannot use and says so in the summary', () => {
  it('skips non-image, corrupt and truncated files, naming each, and keeps the rest of the class', async () => {
    const { root, cacheDir } = fresh();
    await writeClass(path.join(root, 'a'), 2, [255, 0, 0]);
    await writeClass(path.join(root, 'b'), 2, [0, 255, 0]);
    fs.writeFileSync(path.join(root, 'a', 'notes.txt'), 'not an image');
    fs.writeFileSync(path.join(root, 'a', 'fake.png'), 'text pretending to be a PNG');
    const png = fs.readFileSync(path.join(root, 'b', '0.png'));
    fs.writeFileSync(path.join(root, 'b', 'cut.png'), png.subarray(0, Math.floor(png.length / 2)));
    fs.writeFileSync(path.join(root, '.DS_Store'), '');
    const data = await loadImageFolder(root, { size: 8, cacheDir });
    expect(data.imagesOf('folder:a')).toHaveLength(2);
    expect(data.imagesOf('folder:b')).toHaveLength(2);
    const skipped = summarizeDataset(data).folder!.skipped;
    expect(skipped.count).toBe(4);
    expect(skipped.byKind).toEqual({ hidden: 1, 'not-an-image': 1, undecodable: 2 });
    expect(skipped.files.find((s) => s.path === 'a/fake.png')!.reason).toMatch(/cannot be decoded .*re-save or remove it/);
    expect(skipped.files.find((s) => s.path === 'b/cut.png')!.kind).toBe('undecodable');
    expect(skipped.files.find((s) => s.path === 'a/notes.txt')!.reason).toMatch(/not an image file \(expected \.png/);
  });

  it('leaves out an empty class folder and a class whose every image is undecodable', async () => {
    const { root, cacheDir } = fresh();
    await writeClass(path.join(root, 'kept'), 2, [255, 0, 0]);
    fs.mkdirSync(path.join(root, 'empty'), { recursive: true });
    fs.mkdirSync(path.join(root, 'broken'));
    fs.writeFileSync(path.join(root, 'broken', 'x.jpg'), 'garbage');
    const data = await loadImageFolder(root, { size: 8, cacheDir });
    expect(data.classes.map((c) => c.name)).toEqual(['kept']);
    const skipped = summarizeDataset(data).folder!.skipped.files;
    expect(
      skipped
        .filter((s) => s.kind === 'empty-class')
        .map((s) => s.path)
        .sort(),
    ).toEqual(['broken', 'empty']);
  });

  it('fails naming the folder when no class has a readable image', async () => {
    const { root, cacheDir } = fresh();
    fs.mkdirSync(path.join(root, 'a'), { recursive: true });
    fs.writeFileSync(path.join(root, 'a', 'x.png'), 'garbage');
    await expect(loadImageFolder(root, { size: 8, cacheDir })).rejects.toThrow(
      /no class folder with a readable image .*a\/x\.png: cannot be decoded/,
    );
    expect(fs.readdirSync(cacheDir)).toEqual([]); // no store, no temporary file left
  });

  it('does not follow a symbolic link loop, and skips links to nothing', async () => {
    const { root, cacheDir } = fresh();
    await writeClass(path.join(root, 'a', 'sub'), 2, [255, 0, 0]);
    fs.symlinkSync(path.join(root, 'a'), path.join(root, 'a', 'sub', 'back-up')); // a/sub/back-up → a
    fs.symlinkSync(path.join(root, 'a', 'self'), path.join(root, 'a', 'self')); // a link to itself (ELOOP)
    fs.symlinkSync(path.join(root, 'nowhere'), path.join(root, 'a', 'dangling.png'));
    const data = await loadImageFolder(root, { size: 8, cacheDir });
    expect(data.imagesOf('folder:a').map((r) => r.source)).toEqual(['a/sub/0.png', 'a/sub/1.png']);
    const skipped = summarizeDataset(data).folder!.skipped;
    expect(skipped.byKind).toEqual({ 'symlink-loop': 2, 'broken-link': 1 });
    expect(skipped.files.find((s) => s.path === 'a/sub/back-up')!.reason).toMatch(/back to its own ancestor/);
  });

  it('skips unreadable files and folders, saying how to include them', async () => {
    const { root, cacheDir } = fresh();
    await writeClass(path.join(root, 'a'), 3, [255, 0, 0]);
    await writeClass(path.join(root, 'a', 'locked'), 2, [255, 0, 0]);
    const denied = (p: unknown) => Object.assign(new Error(`EACCES: permission denied, open '${String(p)}'`), { code: 'EACCES' });
    // as root, chmod does not deny reads: the file system's answer is simulated instead
    const readFile = fs.promises.readFile;
    vi.spyOn(fs.promises, 'readFile').mockImplementation(((p: string, ...rest: never[]) =>
      String(p).endsWith(path.join('a', '1.png'))
        ? Promise.reject(denied(p))
        : (readFile as (...a: unknown[]) => unknown)(p, ...rest)) as never);
    const readdir = fs.promises.readdir;
    vi.spyOn(fs.promises, 'readdir').mockImplementation(((p: string, ...rest: never[]) =>
      String(p).endsWith('locked') ? Promise.reject(denied(p)) : (readdir as (...a: unknown[]) => unknown)(p, ...rest)) as never);
    const data = await loadImageFolder(root, { size: 8, cacheDir });
    expect(data.imagesOf('folder:a').map((r) => r.source)).toEqual(['a/0.png', 'a/2.png']);
    const skipped = summarizeDataset(data).folder!.skipped.files;
    expect(skipped.map((s) => [s.path, s.kind])).toEqual([
      ['a/locked', 'unreadable'],
      ['a/1.png', 'unreadable'],
    ]);
    expect(skipped[1].reason).toMatch(/permission denied; give read permission \(chmod a\+r\)/);
  });

  it.skipIf(process.getuid?.() === 0)('skips a file without read permission (chmod 000, as a non-root user)', async () => {
    const { root, cacheDir } = fresh();
    await writeClass(path.join(root, 'a'), 2, [255, 0, 0]);
    fs.chmodSync(path.join(root, 'a', '1.png'), 0o000);
    try {
      expect((await skippedOf(root, cacheDir)).byKind).toEqual({ unreadable: 1 });
    } finally {
      fs.chmodSync(path.join(root, 'a', '1.png'), 0o644);
    }
  });
});

describe('loadImageFolder refuses a folder whose splits contradict each other', () => {
  it('a class in two split folders', async () => {
    const { root, cacheDir } = fresh();
    await writeClass(path.join(root, 'base', 'cat'), 2, [255, 0, 0]);
    await writeClass(path.join(root, 'novel', 'cat'), 2, [255, 0, 0]);
    await expect(loadImageFolder(root, { cacheDir })).rejects.toThrow(
      /class "cat" is in two splits \(base\/cat and novel\/cat\).*merge or rename/,
    );
  });

  it('a class given two splits in splits.json', async () => {
    const { root, cacheDir } = fresh();
    await writeClass(path.join(root, 'cat'), 2, [255, 0, 0]);
    fs.writeFileSync(path.join(root, 'splits.json'), '{"cat": "base", "cat": "novel"}');
    await expect(loadImageFolder(root, { cacheDir })).rejects.toThrow(/class "cat" is given a split twice/);
  });

  it('splits.json that misses a class folder, names a missing one, or gives an unknown split', async () => {
    const { root, cacheDir } = fresh();
    await writeClass(path.join(root, 'cat'), 2, [255, 0, 0]);
    await writeClass(path.join(root, 'dog'), 2, [255, 0, 0]);
    const file = path.join(root, 'splits.json');
    fs.writeFileSync(file, JSON.stringify({ cat: 'base' }));
    await expect(loadImageFolder(root, { cacheDir })).rejects.toThrow(/class folder "dog" has no split; add "dog": "base"/);
    fs.writeFileSync(file, JSON.stringify({ cat: 'base', dog: 'novel', cow: 'novel' }));
    await expect(loadImageFolder(root, { cacheDir })).rejects.toThrow(/names class "cow", but .* has no folder "cow"/);
    fs.writeFileSync(file, JSON.stringify({ cat: 'base', dog: 'train' }));
    await expect(loadImageFolder(root, { cacheDir })).rejects.toThrow(
      /class "dog" has split "train"; expected one of base, validation, novel, test/,
    );
    fs.writeFileSync(file, '{"cat": ');
    await expect(loadImageFolder(root, { cacheDir })).rejects.toThrow(/not valid JSON/);
  });

  it('splits.json beside split folders, and a class folder beside split folders', async () => {
    const { root, cacheDir } = fresh();
    await writeClass(path.join(root, 'base', 'cat'), 2, [255, 0, 0]);
    await writeClass(path.join(root, 'dog'), 2, [255, 0, 0]);
    await expect(loadImageFolder(root, { cacheDir })).rejects.toThrow(/also "dog"; .*move "dog" into one/);
    fs.writeFileSync(path.join(root, 'splits.json'), '{}');
    await expect(loadImageFolder(root, { cacheDir })).rejects.toThrow(/has both splits\.json and split folders \(base\)/);
  });

  it('a path that is missing or a file', async () => {
    const { root, cacheDir } = fresh();
    await expect(loadImageFolder(root, { cacheDir })).rejects.toThrow(/does not exist/);
    fs.mkdirSync(tmp, { recursive: true });
    fs.writeFileSync(root, 'x');
    await expect(loadImageFolder(root, { cacheDir })).rejects.toThrow(/is a file; expected a folder of class folders/);
  });
});

describe('few images per class', () => {
  it('episode sampling skips a class with fewer than K + 1 images and, when too few classes remain, names it and the fix', async () => {
    const { root, cacheDir } = fresh();
    await writeClass(path.join(root, 'many1'), 3, [255, 0, 0]);
    await writeClass(path.join(root, 'many2'), 3, [0, 255, 0]);
    await writeClass(path.join(root, 'lonely'), 1, [0, 0, 255]);
    const data = await loadImageFolder(root, { size: 8, cacheDir });
    const list = sampleEpisodes(data, 'test', { ways: 2, shots: 1, queries: 1, count: 3, seed: 1 });
    expect(list.skippedClasses).toEqual(['folder:lonely']);
    expect(() => sampleEpisodes(data, 'test', { ways: 3, shots: 1, queries: 1, count: 1, seed: 1 })).toThrow(
      /classes with too few images: lonely \(1\): add images to them, or lower K \(shots\) or N \(ways\)/,
    );
  });
});

describe('a large folder streams through in chunks', () => {
  it('decodes and writes at most chunkSize images at a time, with a progress step per chunk', async () => {
    const { root, cacheDir } = fresh();
    await writeClass(path.join(root, 'a'), 4, [255, 0, 0]);
    await writeClass(path.join(root, 'b'), 3, [0, 255, 0]);
    const append = vi.spyOn(StoreWriter.prototype, 'append');
    const events: RunEvent[] = [];
    const data = await loadImageFolder(root, { size: 8, cacheDir, chunkSize: 3, onEvent: (e) => events.push(e) });
    expect(append.mock.calls.map(([pixels]) => pixels.byteLength / (8 * 8 * 3))).toEqual([3, 3, 1]);
    expect(events.flatMap((e) => (e.kind === 'step' ? [[e.step, e.totalSteps]] : []))).toEqual([
      [3, 7],
      [6, 7],
      [7, 7],
    ]);
    expect(data.imageCount).toBe(7);
  });

  it('stops at a chunk boundary when cancelled, leaving no store and no temporary file', async () => {
    const { root, cacheDir } = fresh();
    await writeClass(path.join(root, 'a'), 4, [255, 0, 0]);
    const controller = new AbortController();
    const load = loadImageFolder(root, {
      size: 8,
      cacheDir,
      chunkSize: 2,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.kind === 'step') controller.abort();
      },
    });
    await expect(load).rejects.toThrow(CancelledError);
    await expect(load).rejects.toThrow(/stopped after 2 of 4 images; nothing was saved/);
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  });

  it('rejects a chunk size that is not a positive integer', async () => {
    const { root, cacheDir } = fresh();
    await expect(loadImageFolder(root, { cacheDir, chunkSize: 0 })).rejects.toThrow(ConfigError);
  });
});
