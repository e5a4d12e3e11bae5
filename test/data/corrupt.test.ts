import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFashionMnist, loadMnist, readIdx, readStore, writeStore } from '../../src/data';
import { FileFormatError, MissingResourceError } from '../../src/errors';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'data-corrupt-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An IDX ubyte file: magic 00 00 08 rank, big-endian dims, data. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

function file(name: string, bytes: Buffer | string): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, bytes);
  return p;
}

describe('readIdx', () => {
  const images = idx(
    [2, 3, 3],
    new Uint8Array(18).map((_, i) => i),
  );

  it('reads plain and gzipped files', () => {
    expect(readIdx(file('ok', images))).toEqual({ dims: [2, 3, 3], data: new Uint8Array(18).map((_, i) => i) });
    expect(readIdx(file('ok.gz', gzipSync(images))).dims).toEqual([2, 3, 3]);
  });

  it.each([
    ['truncated data', () => images.subarray(0, images.length - 1), /need 18 data bytes, found 17 \(truncated or padded\)/],
    ['truncated header', () => images.subarray(0, 9), /truncated IDX header \(9 of 16 bytes\)/],
    ['wrong magic', () => Buffer.concat([Buffer.from([0, 0, 0x0d, 3]), images.subarray(4)]), /IDX magic must be 00 00 08.*found 00 00 0d/],
    ['bad rank', () => Buffer.from([0, 0, 8, 0]), /IDX rank must be 1\.\.4, found 0/],
    ['corrupt gzip', () => gzipSync(images).subarray(0, 20), /gzip data is corrupt or truncated/],
    ['an empty file', () => Buffer.alloc(0), /only 0 bytes: not an IDX file/],
  ])('rejects %s with a FileFormatError naming the file', (name, bytes, message) => {
    const p = file(`bad-${name.replace(/ /g, '-')}`, bytes());
    expect(() => readIdx(p)).toThrow(FileFormatError);
    expect(() => readIdx(p)).toThrow(message);
    expect(() => readIdx(p)).toThrow(p);
  });
});

describe('MNIST-style loaders', () => {
  const grey = new Uint8Array(3 * 28 * 28).map((_, i) => i % 256);

  it('load a valid IDX pair as 10 test classes', async () => {
    const sourceDir = path.join(dir, 'mnist-ok');
    file('mnist-ok/t10k-images-idx3-ubyte', idx([3, 28, 28], grey));
    file('mnist-ok/t10k-labels-idx1-ubyte', idx([3], new Uint8Array([7, 0, 7])));
    const mnist = await loadMnist({ sourceDir, cacheDir: path.join(dir, 'cache-ok') });
    expect(mnist.imageCount).toBe(3);
    expect(mnist.imagesOf('mnist:7').map((r) => r.index)).toEqual([0, 2]);
    expect(mnist.pixels(mnist.imagesOf('mnist:0')[0])).toHaveLength(32 * 32 * 3);
  });

  it('reject a truncated image file and labels out of range', async () => {
    file('mnist-cut/t10k-images-idx3-ubyte', idx([3, 28, 28], grey).subarray(0, 1000));
    file('mnist-cut/t10k-labels-idx1-ubyte', idx([3], new Uint8Array([1, 2, 3])));
    await expect(loadMnist({ sourceDir: path.join(dir, 'mnist-cut'), cacheDir: path.join(dir, 'cache-cut') })).rejects.toThrow(
      /t10k-images-idx3-ubyte: IDX dimensions \[3,28,28\] need 2352 data bytes, found 984/,
    );
    file('mnist-label/t10k-images-idx3-ubyte', idx([3, 28, 28], grey));
    file('mnist-label/t10k-labels-idx1-ubyte', idx([3], new Uint8Array([1, 12, 3])));
    await expect(loadMnist({ sourceDir: path.join(dir, 'mnist-label'), cacheDir: path.join(dir, 'cache-label') })).rejects.toThrow(
      /label 12 at 1 is not a class 0\.\.9/,
    );
  });

  it('name the Debian package when Fashion-MNIST is not installed', async () => {
    const missing = path.join(dir, 'no-fashion-here');
    const load = loadFashionMnist({ sourceDir: missing, cacheDir: path.join(dir, 'cache-missing') });
    await expect(load).rejects.toThrow(MissingResourceError);
    await expect(loadFashionMnist({ sourceDir: missing })).rejects.toThrow(
      /no-fashion-here; install it with: apt-get install dataset-fashion-mnist/,
    );
  });
});

describe('image store', () => {
  const recipe = { set: 'tiny', version: 1 };
  const build = (cacheDir: string) =>
    writeStore(cacheDir, {
      pixels: new Uint8Array(2 * 2 * 2 * 3).map((_, i) => i * 10),
      index: {
        name: 'tiny',
        imageSize: 2,
        recipe,
        licences: { s: 'CC0' },
        classes: [{ id: 'a', name: 'a', split: 'base' }],
        images: [
          { classId: 'a', source: 's' },
          { classId: 'a', source: 't' },
        ],
      },
    });

  it('reads back what it wrote, and ignores a store of another recipe', () => {
    const cacheDir = path.join(dir, 'store-ok');
    const written = build(cacheDir);
    const read = readStore(cacheDir, 'tiny', recipe)!;
    expect(read.index).toEqual(written.index);
    expect(read.pixels).toEqual(written.pixels);
    expect(readStore(cacheDir, 'tiny', { ...recipe, version: 2 })).toBeUndefined();
  });

  const corruptions: [string, (bin: string, json: string) => void, RegExp][] = [
    [
      'a truncated pixel file',
      (bin) => fs.truncateSync(bin, 20),
      /tiny\.bin: holds 20 bytes, expected 24 \(2 images of 2×2×3\): truncated/,
    ],
    [
      'a flipped pixel byte',
      (bin) => {
        const b = fs.readFileSync(bin);
        b[5] ^= 0xff;
        fs.writeFileSync(bin, b);
      },
      /tiny\.bin: checksum does not match its index: corrupted/,
    ],
    ['a missing pixel file', (bin) => fs.rmSync(bin), /tiny\.bin: missing although its index exists/],
    ['a truncated index', (_, json) => fs.writeFileSync(json, fs.readFileSync(json, 'utf8').slice(0, 50)), /tiny\.json: not valid JSON/],
    ['an index of another format', (_, json) => fs.writeFileSync(json, '{"format": "x"}'), /tiny\.json: not an image-store index/],
    [
      'an image of an unlisted class',
      (_, json) => {
        const index = JSON.parse(fs.readFileSync(json, 'utf8'));
        index.images[1].classId = 'zz';
        fs.writeFileSync(json, JSON.stringify(index));
      },
      /tiny\.json: image 1 has no listed class/,
    ],
  ];
  for (const [what, corrupt, message] of corruptions) {
    it(`rejects ${what} with a FileFormatError`, () => {
      const cacheDir = path.join(dir, `store-${what.replace(/ /g, '-')}`);
      build(cacheDir);
      corrupt(path.join(cacheDir, 'tiny.bin'), path.join(cacheDir, 'tiny.json'));
      expect(() => readStore(cacheDir, 'tiny', recipe)).toThrow(FileFormatError);
      expect(() => readStore(cacheDir, 'tiny', recipe)).toThrow(message);
    });
  }
});
