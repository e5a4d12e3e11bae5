import * as fs from 'fs';
import type { RunControl } from '../progress/events';
import { positiveIntegerOption, type ClassInfo, type Split } from './dataset';
import { readStore, writeStore } from './image-store';
import { withoutBaseCopies } from './base-copies';
import { mapLimited, rasterizeSvg } from './rasterize';
import { defaultCacheDir } from '../paths/cache-dir';
import { StoreDataset } from './store-dataset';

/**
 * Openly licensed iconify emoji sets ("artists"); Apple and Facebook art is never used.
 * Each set's licence is read from its package's info.json for the data card.
 */
export const EMOJI_ARTISTS = [
  'noto',
  'noto-v1',
  'twemoji',
  'openmoji',
  'fluent-emoji-flat',
  'fluent-emoji',
  'fluent-emoji-high-contrast',
  'emojione',
  'emojione-v1',
  'emojione-monotone',
  'fxemoji',
  'streamline-emojis',
] as const;

function artistLicence(artist: string): string {
  const info = require(`@iconify-json/${artist}/info.json`) as {
    name?: string;
    author?: { name?: string };
    license?: { spdx?: string; title?: string };
  };
  return `${info.license?.spdx ?? info.license?.title ?? 'unknown'} (${info.name ?? artist}${info.author?.name ? `, ${info.author.name}` : ''})`;
}

/**
 * Split by emoji category (Unicode group): no class is in two splits. Faces, people, symbols and
 * flags pretrain the backbone; things (travel, places, objects) tune the zoo; animals and food are
 * meta-test, so the zoo's LoRAs know object-like emoji the backbone never saw.
 */
export const EMOJI_SPLITS: Record<string, Split> = {
  'Animals & Nature': 'novel',
  'Food & Drink': 'novel',
  Activities: 'validation',
  'Smileys & Emotion': 'pretrain',
  'People & Body': 'pretrain',
  Symbols: 'pretrain',
  Flags: 'pretrain',
  'Travel & Places': 'base',
  Objects: 'base',
};

export interface EmojiOptions extends RunControl {
  size?: number; // pixels, default 32 (64 available)
  minArtists?: number; // keep emoji drawn by at least this many sets, default 6
  artists?: string[]; // default: all of EMOJI_ARTISTS
  limit?: number; // first n emoji of each category only (small builds for tests: every split stays represented)
  cacheDir?: string;
}

interface IconSet {
  icons: Record<string, { body: string; width?: number; height?: number; left?: number; top?: number }>;
  aliases?: Record<string, { parent: string }>;
  width?: number;
  height?: number;
  chars?: Record<string, string>;
}

interface EmojiEntry {
  name: string;
  slug: string;
  group: string;
}

/** Parsed JSON of a package file, read directly (not via require, whose cache would pin ~180 MB of icon sets). */
function readPackageJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(require.resolve(file), 'utf8')) as T;
}

function loadIconSet(artist: string): IconSet {
  const set = readPackageJson<IconSet>(`@iconify-json/${artist}/icons.json`);
  try {
    const chars = readPackageJson<Record<string, string>>(`@iconify-json/${artist}/chars.json`);
    set.chars = Object.keys(chars).length > 0 ? chars : undefined;
  } catch {
    set.chars = undefined; // sets without a codepoint map are matched by name
  }
  return set;
}

/** Codepoints of an emoji as iconify writes them: hex, '-'-joined, without variation selector 16. */
function codepointKey(emoji: string): string {
  return [...emoji]
    .map((c) => c.codePointAt(0)!.toString(16))
    .filter((h) => h !== 'fe0f')
    .join('-');
}

/** The SVG of `emoji` in `set`, or undefined when the artist did not draw it. */
function emojiSvg(set: IconSet, emoji: string, entry: EmojiEntry, renderSize: number): string | undefined {
  let name = set.chars ? set.chars[codepointKey(emoji)] : undefined;
  if (!set.chars) {
    const dashed = entry.slug.replace(/_/g, '-');
    const squashed = entry.slug.replace(/[^a-z0-9]/g, '');
    name = set.icons[dashed] ? dashed : set.icons[squashed] ? squashed : undefined;
  }
  if (name && !set.icons[name] && set.aliases?.[name]) name = set.aliases[name].parent;
  const icon = name ? set.icons[name] : undefined;
  if (!icon) return undefined;
  const w = icon.width ?? set.width ?? 16;
  const h = icon.height ?? set.height ?? 16;
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${renderSize}" height="${renderSize}" viewBox="${icon.left ?? 0} ${icon.top ?? 0} ${w} ${h}">${icon.body}</svg>`;
}

/** The first `limit` entries of every group (category), in the data's order. */
function firstOfEachGroup(entries: [string, EmojiEntry][], limit: number): [string, EmojiEntry][] {
  const taken = new Map<string, number>();
  return entries.filter(([, e]) => {
    const n = taken.get(e.group) ?? 0;
    taken.set(e.group, n + 1);
    return n < limit;
  });
}

/**
 * The emoji few-shot set: class = emoji, image = one artist's drawing, rasterised at `size` on
 * white, cached in `cacheDir` (validated by checksum on every load, rebuilt when the recipe changes).
 * Some artists reuse one drawing for several emoji (emojione-monotone's diamonds lose their
 * colour): held-out classes keep no image identical to a base image (withoutBaseCopies).
 */
export async function loadEmojiDataset(options: EmojiOptions = {}): Promise<StoreDataset> {
  const size = positiveIntegerOption(options.size ?? 32, 'loadEmojiDataset: size');
  const artists = options.artists ?? [...EMOJI_ARTISTS];
  const minArtists = positiveIntegerOption(options.minArtists ?? 6, 'loadEmojiDataset: minArtists');
  if (options.limit !== undefined) positiveIntegerOption(options.limit, 'loadEmojiDataset: limit');
  const recipe = { set: 'emoji', size, artists, minArtists, limit: options.limit ?? null, version: 5 };
  const dir = options.cacheDir ?? defaultCacheDir();
  const name = `emoji-${size}${options.limit ? `-limit${options.limit}` : ''}`;
  const cached = readStore(dir, name, recipe);
  if (cached) return new StoreDataset(cached);

  const data = require('unicode-emoji-json/data-by-emoji.json') as Record<string, EmojiEntry>;
  let entries = Object.entries(data).filter(([, e]) => e.group in EMOJI_SPLITS);
  if (options.limit) entries = firstOfEachGroup(entries, options.limit);
  const candidates: ClassInfo[] = [];
  const jobs: { classId: string; source: string; svg: string }[] = [];
  // one icon set in memory at a time (they total ~180 MB of JSON)
  const drawings = entries.map(() => [] as { artist: string; svg: string }[]);
  for (const artist of artists) {
    const set = loadIconSet(artist);
    entries.forEach(([emoji, entry], i) => {
      const svg = emojiSvg(set, emoji, entry, size * 4);
      if (svg) drawings[i].push({ artist, svg });
    });
  }
  entries.forEach(([emoji, entry], i) => {
    if (drawings[i].length < minArtists) return;
    const classId = `emoji:${codepointKey(emoji)}`;
    candidates.push({ id: classId, name: `${emoji} ${entry.name}`, split: EMOJI_SPLITS[entry.group], category: entry.group });
    for (const d of drawings[i]) jobs.push({ classId, source: d.artist, svg: d.svg });
  });
  const run = `build ${name}`;
  options.onEvent?.({ kind: 'phase', run, phase: 'rasterise', message: `${jobs.length} images of ${candidates.length} emoji` });
  const rendered = await mapLimited(
    jobs,
    4,
    (job) => rasterizeSvg(job.svg, size),
    (done) => {
      if (done % 200 === 0 || done === jobs.length) {
        options.onEvent?.({ kind: 'step', run, step: done, totalSteps: jobs.length, metrics: {} });
      }
    },
  );
  const { classes, images } = withoutBaseCopies(
    candidates,
    jobs.map((job, i) => ({ classId: job.classId, source: job.source, pixels: rendered[i] })),
    minArtists,
  );
  const pixels = new Uint8Array(images.length * size * size * 3);
  images.forEach((image, i) => pixels.set(image.pixels, i * size * size * 3));
  const store = writeStore(dir, {
    pixels,
    index: {
      name,
      imageSize: size,
      classes,
      images: images.map(({ classId, source }) => ({ classId, source })),
      licences: Object.fromEntries(artists.map((a) => [a, artistLicence(a)])),
      recipe,
    },
  });
  return new StoreDataset(store);
}
