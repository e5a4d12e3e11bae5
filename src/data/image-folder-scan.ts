import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../errors';
import type { Split } from './dataset';

/** The splits a folder may give its classes (the backbone's pretraining split is not for user data). */
export type FolderSplit = Extract<Split, 'base' | 'validation' | 'novel' | 'test'>;
export const FOLDER_SPLITS: readonly FolderSplit[] = ['base', 'validation', 'novel', 'test'];

/** File name endings read as images (case-insensitive); every other file is skipped. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.svg'];

/** The file naming each class's split, at the folder's root. */
export const SPLITS_FILE = 'splits.json';

/** Why a file or folder was left out (docs/your-own-images.md, "Skipped files"). */
export type SkipKind =
  | 'hidden'
  | 'not-an-image'
  | 'not-a-file'
  | 'outside-class'
  | 'broken-link'
  | 'symlink-loop'
  | 'unreadable'
  | 'undecodable'
  | 'empty-class';

export interface SkippedFile {
  path: string; // relative to the root, '/'-separated
  kind: SkipKind;
  reason: string;
}

export interface FolderFile {
  path: string; // relative to the root, '/'-separated
  size: number; // bytes
  mtimeMs: number;
}

export interface FolderClass {
  name: string; // the class folder's name
  split: FolderSplit;
  dir: string; // relative to the root
  files: FolderFile[]; // sorted by path; images in sub-folders of the class folder included
}

/** How the classes got their splits: split folders, splits.json, or none (every class `test`). */
export type FolderLayout = 'split-folders' | 'splits-file' | 'flat';

export interface FolderScan {
  root: string; // real path
  layout: FolderLayout;
  classes: FolderClass[]; // sorted by name; classes without any image file are left out (skipped: empty-class)
  skipped: SkippedFile[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code;
}

function unreadable(rel: string, error: unknown): SkippedFile {
  const code = errorCode(error);
  const fix =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied; give read permission (chmod a+r, a+rx for folders) to include it'
      : (error as Error).message;
  return { path: rel, kind: 'unreadable', reason: `unreadable: ${fix}` };
}

/** A directory's entries sorted by name, or a ConfigError naming it and the fix. */
async function listDirectory(abs: string, rel: string): Promise<string[]> {
  try {
    return (await fs.promises.readdir(abs)).sort(byName);
  } catch (error) {
    throw new ConfigError(
      `image folder: cannot read ${rel === '' ? abs : rel} (${(error as Error).message}); give read permission (chmod a+rx) or point --data at a readable folder`,
    );
  }
}

/** stat() following links; broken links, loops and unreadable entries come back as a SkippedFile. */
async function statEntry(abs: string, rel: string): Promise<fs.Stats | SkippedFile> {
  try {
    return await fs.promises.stat(abs);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return { path: rel, kind: 'broken-link', reason: 'a symbolic link to nothing' };
    if (code === 'ELOOP') return { path: rel, kind: 'symlink-loop', reason: 'a symbolic link loop' };
    return unreadable(rel, error);
  }
}

/**
 * The image files under a class folder, sub-folders included. A folder reached again through a
 * symbolic link (a loop back to one of its ancestors) is skipped, as are unreadable folders.
 */
async function imagesUnder(abs: string, rel: string, ancestors: readonly string[], skipped: SkippedFile[]): Promise<FolderFile[]> {
  let names: string[];
  try {
    names = (await fs.promises.readdir(abs)).sort(byName);
  } catch (error) {
    skipped.push(unreadable(rel, error));
    return [];
  }
  const files: FolderFile[] = [];
  for (const name of names) {
    const entryAbs = path.join(abs, name);
    const entryRel = `${rel}/${name}`;
    if (name.startsWith('.')) {
      skipped.push({ path: entryRel, kind: 'hidden', reason: 'hidden (name starts with a dot)' });
      continue;
    }
    const stat = await statEntry(entryAbs, entryRel);
    if (!(stat instanceof fs.Stats)) {
      skipped.push(stat);
    } else if (stat.isDirectory()) {
      const real = await fs.promises.realpath(entryAbs);
      if (ancestors.includes(real)) {
        skipped.push({ path: entryRel, kind: 'symlink-loop', reason: `a symbolic link back to its own ancestor ${real}: not followed` });
      } else {
        files.push(...(await imagesUnder(entryAbs, entryRel, [...ancestors, real], skipped)));
      }
    } else if (!stat.isFile()) {
      skipped.push({ path: entryRel, kind: 'not-a-file', reason: 'not a regular file' });
    } else if (!IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase())) {
      skipped.push({ path: entryRel, kind: 'not-an-image', reason: `not an image file (expected ${IMAGE_EXTENSIONS.join(', ')})` });
    } else {
      files.push({ path: entryRel, size: stat.size, mtimeMs: stat.mtimeMs });
    }
  }
  return files;
}

/** The entries of a folder split into sub-folders and the rest (files, which are skipped as outside any class). */
async function subfolders(
  abs: string,
  rel: string,
  skipped: SkippedFile[],
  keep: (name: string) => boolean = () => false,
): Promise<string[]> {
  const dirs: string[] = [];
  for (const name of await listDirectory(abs, rel)) {
    const entryRel = rel === '' ? name : `${rel}/${name}`;
    if (keep(name)) continue;
    if (name.startsWith('.')) {
      skipped.push({ path: entryRel, kind: 'hidden', reason: 'hidden (name starts with a dot)' });
      continue;
    }
    const stat = await statEntry(path.join(abs, name), entryRel);
    if (!(stat instanceof fs.Stats)) skipped.push(stat);
    else if (stat.isDirectory()) dirs.push(name);
    else skipped.push({ path: entryRel, kind: 'outside-class', reason: 'a file outside any class folder' });
  }
  return dirs;
}

/**
 * splits.json: one JSON object mapping each class folder's name to its split, e.g.
 * {"cat": "base", "dog": "validation", "cow": "novel"}. A name given twice is an error (JSON.parse
 * would silently keep the last one).
 */
export function parseSplitsFile(text: string, file: string): Map<string, FolderSplit> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `${file}: not valid JSON (${(error as Error).message}); expected {"<class folder>": "base" | "validation" | "novel" | "test", ...}`,
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(
      `${file}: expected one object mapping class folder names to splits, found ${Array.isArray(json) ? 'an array' : typeof json}`,
    );
  }
  const splits = new Map<string, FolderSplit>();
  for (const [name, split] of Object.entries(json)) {
    if (!FOLDER_SPLITS.includes(split as FolderSplit)) {
      throw new ConfigError(`${file}: class "${name}" has split ${JSON.stringify(split)}; expected one of ${FOLDER_SPLITS.join(', ')}`);
    }
    splits.set(name, split as FolderSplit);
  }
  // every key of a flat object of strings is a string followed by a colon; values are never followed by one
  const keys = [...text.matchAll(/"((?:[^"\\]|\\.)*)"\s*:/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice !== undefined)
    throw new ConfigError(`${file}: class "${twice}" is given a split twice; a class belongs to one split: keep one entry`);
  return splits;
}

/** Every class folder of the split folders `<root>/<split>/<class>/`; a class name in two splits is an error. */
async function splitFolderClasses(root: string, skipped: SkippedFile[]): Promise<{ name: string; split: FolderSplit; dir: string }[]> {
  const top = await subfolders(root, '', skipped);
  const stray = top.filter((name) => !FOLDER_SPLITS.includes(name as FolderSplit));
  if (stray.length > 0) {
    throw new ConfigError(
      `image folder ${root}: has split folders (${top.filter((n) => !stray.includes(n)).join(', ')}) and also "${stray[0]}"; with split folders every class folder goes inside one of ${FOLDER_SPLITS.join(', ')}: move "${stray[0]}" into one`,
    );
  }
  const classes: { name: string; split: FolderSplit; dir: string }[] = [];
  for (const split of top as FolderSplit[]) {
    for (const name of await subfolders(path.join(root, split), split, skipped)) {
      const other = classes.find((c) => c.name === name);
      if (other) {
        throw new ConfigError(
          `image folder ${root}: class "${name}" is in two splits (${other.dir} and ${split}/${name}); a class belongs to one split: merge or rename one of the folders`,
        );
      }
      classes.push({ name, split, dir: `${split}/${name}` });
    }
  }
  return classes;
}

/** Every class folder `<root>/<class>/`, each with its split from splits.json (which must name exactly these folders). */
async function splitsFileClasses(root: string, skipped: SkippedFile[]): Promise<{ name: string; split: FolderSplit; dir: string }[]> {
  const file = path.join(root, SPLITS_FILE);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot be read (${(error as Error).message}); give read permission (chmod a+r) or remove it`);
  }
  const splits = parseSplitsFile(text, file);
  const names = await subfolders(root, '', skipped, (name) => name === SPLITS_FILE);
  const unlisted = names.find((name) => !splits.has(name));
  if (unlisted !== undefined)
    throw new ConfigError(`${file}: class folder "${unlisted}" has no split; add "${unlisted}": "base" (or "validation", "novel", "test")`);
  const missing = [...splits.keys()].find((name) => !names.includes(name));
  if (missing !== undefined)
    throw new ConfigError(`${file}: names class "${missing}", but ${root} has no folder "${missing}"; create it or remove the entry`);
  return names.map((name) => ({ name, split: splits.get(name)!, dir: name }));
}

/**
 * The classes, image files and skipped entries of an image folder, without reading any image:
 *   - split folders: `<root>/{base,validation,novel,test}/<class>/...`;
 *   - `<root>/splits.json` beside `<root>/<class>/...` folders, mapping each class to its split;
 *   - otherwise `<root>/<class>/...`, every class in split `test`.
 * Nothing in the folder is written, moved or deleted.
 */
export async function scanImageFolder(root: string): Promise<FolderScan> {
  let real: string;
  try {
    real = await fs.promises.realpath(root);
  } catch (error) {
    throw new ConfigError(
      `image folder ${root}: does not exist or cannot be reached (${(error as Error).message}); expected a folder of class folders`,
    );
  }
  if (!(await fs.promises.stat(real)).isDirectory())
    throw new ConfigError(`image folder ${root}: is a file; expected a folder of class folders (<root>/<class>/<image>)`);
  const top = await listDirectory(real, '');
  const hasSplitsFile = top.includes(SPLITS_FILE);
  const splitDirs = top.filter((name) => FOLDER_SPLITS.includes(name as FolderSplit));
  if (hasSplitsFile && splitDirs.length > 0) {
    throw new ConfigError(
      `image folder ${root}: has both ${SPLITS_FILE} and split folders (${splitDirs.join(', ')}); use one way of giving splits: remove ${SPLITS_FILE} or move the classes out of the split folders`,
    );
  }
  const skipped: SkippedFile[] = [];
  const layout: FolderLayout = hasSplitsFile ? 'splits-file' : splitDirs.length > 0 ? 'split-folders' : 'flat';
  const found =
    layout === 'split-folders'
      ? await splitFolderClasses(real, skipped)
      : layout === 'splits-file'
        ? await splitsFileClasses(real, skipped)
        : (await subfolders(real, '', skipped)).map((name) => ({ name, split: 'test' as const, dir: name }));
  const classes: FolderClass[] = [];
  for (const c of found.sort((a, b) => byName(a.name, b.name))) {
    const abs = path.join(real, c.dir);
    const files = (await imagesUnder(abs, c.dir, [real, await fs.promises.realpath(abs)], skipped)).sort((a, b) => byName(a.path, b.path));
    if (files.length === 0)
      skipped.push({ path: c.dir, kind: 'empty-class', reason: 'a class folder without image files: class left out' });
    else classes.push({ ...c, files });
  }
  return { root: real, layout, classes, skipped };
}
