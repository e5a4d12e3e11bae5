import * as fs from 'fs';
import * as path from 'path';
import * as opentype from 'opentype.js';
import { MissingResourceError } from '../errors';
import type { RunControl } from '../progress/events';
import { defaultCacheDir } from '../paths/cache-dir';
import { positiveIntegerOption, type ClassInfo, type Split } from './dataset';
import { readStore, writeStore } from './image-store';
import { withoutBaseCopies } from './base-copies';
import { glyphSvg } from './glyph-render';
import { mapLimited, rasterizeSvg } from './rasterize';
import { StoreDataset } from './store-dataset';

/** Scripts of the glyph set: code point ranges and their split (base trains the image prior). */
export const GLYPH_SCRIPTS: { script: string; from: number; to: number; split: Split }[] = [
  { script: 'Latin upper', from: 0x41, to: 0x5a, split: 'base' },
  { script: 'Latin lower', from: 0x61, to: 0x7a, split: 'base' },
  { script: 'Digits', from: 0x30, to: 0x39, split: 'base' },
  { script: 'Cyrillic', from: 0x410, to: 0x44f, split: 'base' },
  { script: 'Greek', from: 0x391, to: 0x3c9, split: 'test' },
  { script: 'Armenian', from: 0x531, to: 0x586, split: 'test' },
  { script: 'Georgian', from: 0x10d0, to: 0x10f0, split: 'test' },
  { script: 'Hebrew', from: 0x5d0, to: 0x5ea, split: 'test' },
  { script: 'Math operators', from: 0x2200, to: 0x225f, split: 'test' },
];

/** Debian font packages whose TrueType files the glyph set draws from. */
export const GLYPH_FONT_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/truetype/liberation'];
const FONT_LICENCES = {
  dejavu: 'Bitstream Vera licence, DejaVu changes public domain (fonts-dejavu-core, fonts-dejavu-extra)',
  liberation: 'GPL-2.0 with the font exception, Liberation Fonts licence 1.07 (fonts-liberation)',
};

export interface GlyphOptions extends RunControl {
  size?: number; // default 32
  minFonts?: number; // keep characters present in at least this many fonts, default 6
  fontDirs?: string[];
  cacheDir?: string;
}

function fontFiles(dirs: string[]): string[] {
  const files = dirs
    .filter((d) => fs.existsSync(d))
    .flatMap((d) =>
      fs
        .readdirSync(d)
        .filter((f) => f.endsWith('.ttf'))
        .map((f) => path.join(d, f)),
    );
  // math fonts draw letters in another style family; they are kept, sorted for determinism
  return files.sort();
}

/**
 * Omniglot-style glyph set: class = character, image = that character in one font. Fonts are
 * filtered by their cmap (a font without the character contributes no image, so no
 * missing-glyph boxes appear). Held-out characters drawn exactly like a base character in some
 * font (homoglyphs such as Greek Α, Latin A) are left out, so no class is in two splits in
 * effect; any other held-out image identical to a base image of its font is dropped too
 * (withoutBaseCopies). Cached like the emoji set.
 */
export async function loadGlyphDataset(options: GlyphOptions = {}): Promise<StoreDataset> {
  const size = positiveIntegerOption(options.size ?? 32, 'loadGlyphDataset: size');
  const minFonts = positiveIntegerOption(options.minFonts ?? 6, 'loadGlyphDataset: minFonts');
  const files = fontFiles(options.fontDirs ?? GLYPH_FONT_DIRS);
  if (files.length === 0) {
    throw new MissingResourceError(
      `no TrueType fonts in ${(options.fontDirs ?? GLYPH_FONT_DIRS).join(', ')}: apt-get install fonts-dejavu-core fonts-dejavu-extra fonts-liberation`,
    );
  }
  const recipe = { set: 'glyphs', size, minFonts, fonts: files.map((f) => path.basename(f)), version: 4 };
  const dir = options.cacheDir ?? defaultCacheDir();
  const name = `glyphs-${size}`;
  const cached = readStore(dir, name, recipe);
  if (cached) return new StoreDataset(cached);

  const fonts = files.map((f) => ({ id: path.basename(f, '.ttf'), font: opentype.parse(new Uint8Array(fs.readFileSync(f)).buffer) }));
  const characters = GLYPH_SCRIPTS.flatMap(({ script, from, to, split }) =>
    Array.from({ length: to - from + 1 }, (_, i) => {
      const code = from + i;
      const char = String.fromCodePoint(code);
      return {
        code,
        char,
        script,
        split,
        drawn: fonts
          .map((f) => ({ source: f.id, svg: glyphSvg(f.font, char, size * 4) }))
          .filter((d): d is { source: string; svg: string } => d.svg !== undefined),
      };
    }),
  );
  // A held-out character drawn exactly like a base one in some font (Greek Α = Latin A = Cyrillic А)
  // would leak a base class into the test split: such homoglyphs are dropped.
  const baseDrawings = new Set(characters.filter((c) => c.split === 'base').flatMap((c) => c.drawn.map((d) => `${d.source}\n${d.svg}`)));
  const classes: ClassInfo[] = [];
  const jobs: { classId: string; source: string; svg: string }[] = [];
  for (const { code, char, script, split, drawn } of characters) {
    if (drawn.length < minFonts) continue;
    if (split !== 'base' && drawn.some((d) => baseDrawings.has(`${d.source}\n${d.svg}`))) continue;
    const classId = `glyph:${code.toString(16).padStart(4, '0')}`;
    classes.push({ id: classId, name: `${char} U+${code.toString(16).toUpperCase().padStart(4, '0')}`, split, category: script });
    for (const d of drawn) jobs.push({ classId, source: d.source, svg: d.svg });
  }
  const run = `build ${name}`;
  options.onEvent?.({ kind: 'phase', run, phase: 'rasterise', message: `${jobs.length} images of ${classes.length} characters` });
  const rendered = await mapLimited(
    jobs,
    4,
    (job) => rasterizeSvg(job.svg, size),
    (done) => {
      if (done % 200 === 0 || done === jobs.length)
        options.onEvent?.({ kind: 'step', run, step: done, totalSteps: jobs.length, metrics: {} });
    },
  );
  const kept = withoutBaseCopies(
    classes,
    jobs.map((job, i) => ({ classId: job.classId, source: job.source, pixels: rendered[i] })),
    minFonts,
  );
  const pixels = new Uint8Array(kept.images.length * size * size * 3);
  kept.images.forEach((image, i) => pixels.set(image.pixels, i * size * size * 3));
  const licences = Object.fromEntries(
    fonts.map((f) => [f.id, f.id.startsWith('DejaVu') ? FONT_LICENCES.dejavu : FONT_LICENCES.liberation]),
  );
  return new StoreDataset(
    writeStore(dir, {
      pixels,
      index: {
        name,
        imageSize: size,
        classes: kept.classes,
        images: kept.images.map(({ classId, source }) => ({ classId, source })),
        licences,
        recipe,
      },
    }),
  );
}
