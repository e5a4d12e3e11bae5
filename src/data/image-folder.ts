import { createHash } from 'crypto';
import * as path from 'path';
import { CancelledError, ConfigError } from '../errors';
import { defaultCacheDir } from '../paths/cache-dir';
import type { RunControl } from '../progress/events';
import { positiveIntegerOption, type ClassInfo } from './dataset';
import { decodeImageFile } from './image-decode';
import { scanImageFolder, type FolderLayout, type SkippedFile } from './image-folder-scan';
import { readStore, StoreWriter } from './image-store';
import { mapLimited } from './rasterize';
import { StoreDataset } from './store-dataset';

export interface ImageFolderOptions extends RunControl {
  size?: number; // pixels of the square images, default 32 (the other loaders' default)
  cacheDir?: string; // default: the loaders' cache (defaultCacheDir)
  chunkSize?: number; // images decoded and written at a time, default IMAGE_FOLDER_CHUNK; bounds the memory of a build
}

/** Images decoded at a time while building: a build never holds more decoded images than this. */
export const IMAGE_FOLDER_CHUNK = 256;

/** What a folder build saw besides the pixels (kept in the store's index, read by summarizeDataset). */
export interface FolderBuild {
  kind: 'image-folder';
  root: string;
  layout: FolderLayout;
  sourceSizes: Record<string, number>; // "width×height" of the files on disk → images
  skipped: SkippedFile[];
}

const CLASS_PREFIX = 'folder:';

/** The class id of a class folder: "folder:<name>", unique within a folder dataset and stable across builds. */
export function folderClassId(name: string): string {
  return `${CLASS_PREFIX}${name}`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Store name in the cache: the folder's name (file-safe), a hash of its real path, the size. */
function storeName(root: string, size: number): string {
  const slug =
    path
      .basename(root)
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .slice(0, 40) || 'root';
  return `folder-${slug}-${sha256(root).slice(0, 10)}-${size}`;
}

/** The first line of an error's message (sharp's can run to many lines). */
const firstLine = (error: unknown) => String((error as Error)?.message ?? error).split('\n')[0];

function decodeFailure(file: string, error: unknown): SkippedFile {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM')
    return { path: file, kind: 'unreadable', reason: 'unreadable: permission denied; give read permission (chmod a+r) to include it' };
  return {
    path: file,
    kind: 'undecodable',
    reason: `cannot be decoded (${firstLine(error)}): corrupt, truncated or not an image; re-save or remove it to include or silence it`,
  };
}

/**
 * A folder of your own images as a dataset: class = sub-folder, split from split folders or
 * splits.json (else `test`), every image decoded with sharp to `size`×`size` RGB (decodeImageFile:
 * alpha over white, shorter side to `size`, centre crop). Class ids are "folder:<class folder>".
 * Files that are not images, cannot be read or cannot be decoded are skipped and listed
 * (summarizeDataset shows them); classes left without images are dropped.
 *
 * Cached in the loaders' image store under `cacheDir`, keyed by the folder's real path, every
 * file's relative path, size and modification time, and `size`: a later load with nothing changed
 * only lists the folder and reads the cache; any added, removed or changed file rebuilds it. A
 * build streams the files through in chunks of `chunkSize` (progress as step events), so memory
 * holds one chunk of decoded images, never the whole folder. The folder itself is only read.
 */
export async function loadImageFolder(root: string, options: ImageFolderOptions = {}): Promise<StoreDataset> {
  const size = positiveIntegerOption(options.size ?? 32, 'loadImageFolder: size');
  const chunkSize = positiveIntegerOption(options.chunkSize ?? IMAGE_FOLDER_CHUNK, 'loadImageFolder: chunkSize');
  const scan = await scanImageFolder(root);
  const files = scan.classes.flatMap((c) => c.files.map((f) => ({ ...f, classId: folderClassId(c.name) })));
  const listing = [
    ...scan.classes.flatMap((c) => c.files.map((f) => `${c.split}\t${c.name}\t${f.path}\t${f.size}\t${f.mtimeMs}`)),
    ...scan.skipped.map((s) => `skipped\t${s.path}\t${s.kind}`),
  ].join('\n');
  const recipe = {
    set: 'image-folder',
    root: scan.root,
    size,
    layout: scan.layout,
    images: files.length,
    files: sha256(listing),
    version: 1,
  };
  const dir = options.cacheDir ?? defaultCacheDir();
  const name = storeName(scan.root, size);
  const run = `build ${name}`;
  const cached = readStore(dir, name, recipe);
  if (cached) {
    options.onEvent?.({
      kind: 'phase',
      run,
      phase: 'cache',
      message: `${cached.index.images.length} images of ${root} read from the cache`,
    });
    return new StoreDataset(cached);
  }

  options.onEvent?.({
    kind: 'phase',
    run,
    phase: 'decode',
    message: `${files.length} image files in ${scan.classes.length} class folders of ${root}`,
  });
  const skipped = [...scan.skipped];
  const sourceSizes: Record<string, number> = {};
  const images: { classId: string; source: string }[] = [];
  const writer = new StoreWriter(dir, name);
  try {
    for (let start = 0; start < files.length; start += chunkSize) {
      if (options.signal?.aborted) throw new CancelledError(`${run}: stopped after ${start} of ${files.length} images; nothing was saved`);
      const chunk = files.slice(start, start + chunkSize);
      const decoded = await mapLimited(chunk, 4, (f) =>
        decodeImageFile(path.join(scan.root, f.path), size).catch((error: unknown) => decodeFailure(f.path, error)),
      );
      const kept = decoded.flatMap((d, i) => ('pixels' in d ? [{ image: d, file: chunk[i] }] : []));
      skipped.push(...decoded.filter((d): d is SkippedFile => !('pixels' in d)));
      const pixels = new Uint8Array(kept.length * size * size * 3);
      kept.forEach(({ image, file }, i) => {
        pixels.set(image.pixels, i * size * size * 3);
        images.push({ classId: file.classId, source: file.path });
        const key = `${image.width}×${image.height}`;
        sourceSizes[key] = (sourceSizes[key] ?? 0) + 1;
      });
      writer.append(pixels);
      options.onEvent?.({ kind: 'step', run, step: start + chunk.length, totalSteps: files.length, metrics: {} });
    }
    const withImages = new Set(images.map((image) => image.classId));
    const classes: ClassInfo[] = [];
    for (const c of scan.classes) {
      if (withImages.has(folderClassId(c.name))) classes.push({ id: folderClassId(c.name), name: c.name, split: c.split });
      else skipped.push({ path: c.dir, kind: 'empty-class', reason: 'no image of the class folder could be decoded: class left out' });
    }
    if (classes.length === 0) {
      throw new ConfigError(
        `image folder ${root}: no class folder with a readable image (${skipped.length} entries skipped, e.g. ${
          skipped
            .slice(0, 3)
            .map((s) => `${s.path}: ${s.reason}`)
            .join('; ') || 'none'
        }); expected <folder>/<class>/<image>.png|jpg|webp|gif|svg`,
      );
    }
    const build: FolderBuild = { kind: 'image-folder', root: scan.root, layout: scan.layout, sourceSizes, skipped };
    const store = writer.finish({
      name,
      imageSize: size,
      classes,
      images,
      recipe,
      build: build as unknown as Record<string, unknown>,
      licences: { [name]: `your own images from ${scan.root} (their licence is yours to know)` },
    });
    return new StoreDataset(store);
  } catch (error) {
    writer.abort();
    throw error;
  }
}
