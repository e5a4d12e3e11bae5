import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { FileFormatError } from '../errors';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic-write';
import type { ClassInfo } from './dataset';

/**
 * A built image set on disk: `<name>.bin` holds n images as uint8 RGB [n, S, S, 3]; `<name>.json`
 * holds the classes, one entry per image (class and source), the size and the sha256 of the bin.
 */
export interface StoreIndex {
  format: 'lora-recycle-images/1';
  name: string;
  imageSize: number;
  classes: ClassInfo[];
  images: { classId: string; source: string }[];
  licences: Record<string, string>;
  sha256: string;
  recipe: Record<string, unknown>; // what was built, so a changed recipe triggers a rebuild
  build?: Record<string, unknown>; // what the build saw beyond the pixels (e.g. a folder's skipped files), for summaries
}

export interface ImageStore {
  index: StoreIndex;
  pixels: Uint8Array; // [n, S, S, 3]
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function storePaths(dir: string, name: string): { bin: string; json: string } {
  return { bin: path.join(dir, `${name}.bin`), json: path.join(dir, `${name}.json`) };
}

/** Writes the pixels, then the index (whose presence marks a complete build). */
export function writeStore(dir: string, store: Omit<ImageStore, 'index'> & { index: Omit<StoreIndex, 'sha256' | 'format'> }): ImageStore {
  const { bin, json } = storePaths(dir, store.index.name);
  const index: StoreIndex = { format: 'lora-recycle-images/1', ...store.index, sha256: sha256(store.pixels) };
  writeFileAtomic(bin, store.pixels);
  writeJsonAtomic(json, index);
  return { index, pixels: store.pixels };
}

/**
 * Writes a store whose pixels arrive in chunks (a large image folder): each chunk goes straight to
 * a temporary file beside the target and into the checksum, so no more than one chunk is held;
 * `finish` renames the pixels into place, then writes the index (whose presence marks a complete
 * build); `abort` removes the temporary file.
 */
export class StoreWriter {
  private readonly hash = createHash('sha256');
  private readonly tmp: string;
  private fd: number | null;
  private bytes = 0;

  constructor(
    private readonly dir: string,
    private readonly name: string,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.tmp = path.join(dir, `.${name}.bin.${process.pid}.${Date.now()}.tmp`);
    this.fd = fs.openSync(this.tmp, 'w');
  }

  /** Appends images [k, S, S, 3] (uint8) after those appended before. */
  append(pixels: Uint8Array): void {
    if (this.fd === null) throw new Error(`StoreWriter ${this.name}: append after finish or abort`);
    let written = 0;
    while (written < pixels.byteLength) written += fs.writeSync(this.fd, pixels, written, pixels.byteLength - written);
    this.hash.update(pixels);
    this.bytes += pixels.byteLength;
  }

  /** The index of the appended images; returns the store as readStore would read it back. */
  finish(index: Omit<StoreIndex, 'sha256' | 'format'>): ImageStore {
    if (this.fd === null) throw new Error(`StoreWriter ${this.name}: finish after finish or abort`);
    const expected = index.images.length * index.imageSize * index.imageSize * 3;
    if (this.bytes !== expected) {
      this.abort();
      throw new Error(`StoreWriter ${this.name}: ${this.bytes} bytes appended, expected ${expected} for ${index.images.length} images`);
    }
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = null;
    const { bin, json } = storePaths(this.dir, this.name);
    fs.rmSync(json, { force: true }); // an older build's index must never describe the new pixels
    fs.renameSync(this.tmp, bin);
    const full: StoreIndex = { format: 'lora-recycle-images/1', ...index, sha256: this.hash.digest('hex') };
    writeJsonAtomic(json, full);
    return { index: full, pixels: new Uint8Array(fs.readFileSync(bin)) };
  }

  abort(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    fs.rmSync(this.tmp, { force: true });
  }
}

/**
 * Reads and validates a store: index shape, image count against the file size, checksum.
 * Returns undefined when the store is absent or was built with another recipe.
 */
export function readStore(dir: string, name: string, recipe: Record<string, unknown>): ImageStore | undefined {
  const { bin, json } = storePaths(dir, name);
  if (!fs.existsSync(json)) return undefined;
  let index: StoreIndex;
  try {
    index = JSON.parse(fs.readFileSync(json, 'utf8'));
  } catch (error) {
    throw new FileFormatError(json, `not valid JSON (${(error as Error).message}); delete it to rebuild`);
  }
  if (index?.format !== 'lora-recycle-images/1' || !Array.isArray(index.images) || !Array.isArray(index.classes)) {
    throw new FileFormatError(json, 'not an image-store index (format lora-recycle-images/1); delete it to rebuild');
  }
  if (JSON.stringify(index.recipe) !== JSON.stringify(recipe)) return undefined;
  if (!Number.isInteger(index.imageSize) || index.imageSize < 1 || typeof index.sha256 !== 'string') {
    throw new FileFormatError(
      json,
      `imageSize must be a positive integer and sha256 a string, found ${JSON.stringify(index.imageSize)} and ${JSON.stringify(index.sha256)}; delete it to rebuild`,
    );
  }
  const classIds = new Set(index.classes.map((c) => c?.id));
  const stray = index.images.findIndex((image) => !classIds.has(image?.classId) || typeof image.source !== 'string');
  if (stray >= 0)
    throw new FileFormatError(
      json,
      `image ${stray} has no listed class or no source (${JSON.stringify(index.images[stray])}); delete it to rebuild`,
    );
  if (!fs.existsSync(bin)) throw new FileFormatError(bin, 'missing although its index exists; delete the index to rebuild');
  const pixels = new Uint8Array(fs.readFileSync(bin));
  const expected = index.images.length * index.imageSize * index.imageSize * 3;
  if (pixels.byteLength !== expected) {
    throw new FileFormatError(
      bin,
      `holds ${pixels.byteLength} bytes, expected ${expected} (${index.images.length} images of ${index.imageSize}×${index.imageSize}×3): truncated? delete it to rebuild`,
    );
  }
  if (sha256(pixels) !== index.sha256) throw new FileFormatError(bin, 'checksum does not match its index: corrupted; delete it to rebuild');
  return { index, pixels };
}
