import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { deflateRawSync, inflateRawSync } from 'zlib';
import * as opentype from 'opentype.js';
import { CancelledError, ConfigError, MissingResourceError } from '../errors';
import type { RunControl } from '../progress/events';
import { defaultCacheDir } from '../paths/cache-dir';
import { SeededRandom } from '../random/seeded-random';
import { positiveIntegerOption, type ClassInfo, type Split } from './dataset';
import type { RenderedImage } from './base-copies';
import { DOMAIN_FONT_PACKAGES, DOMAIN_SCRIPTS, fontLicence, isDomainCharacter, SEEN_CHARACTERS } from './glyph-domain-sources';
import { glyphOutline, outlineSvg, shapeKey } from './glyph-render';
import { readStore, storePaths, writeStore, type ImageStore } from './image-store';
import { mapLimited, rasterizeSvg } from './rasterize';
import { StoreDataset } from './store-dataset';

export type DomainSplitRule = 'random' | 'by-script';
export type DomainProportions = { base: number; validation: number; novel: number };

/** Default shares of the random split: the zoo's base classes, validation, novel (meta-test). */
export const DOMAIN_PROPORTIONS: Readonly<DomainProportions> = { base: 0.6, validation: 0.15, novel: 0.25 };

export interface GlyphDomainOptions extends RunControl {
  size?: number; // default 32
  minImages?: number; // keep characters with at least this many distinct images, default 20
  maxImages?: number; // draw at most this many distinct images per character, default 24
  split?: DomainSplitRule; // default 'random' (by class); 'by-script' for the cross-script case
  proportions?: DomainProportions; // random split, default DOMAIN_PROPORTIONS
  seed?: number; // random split, default 1
  packages?: readonly string[]; // Debian font packages, default DOMAIN_FONT_PACKAGES
  cacheDir?: string;
}

interface FontFile {
  id: string;
  file: string;
  pkg: string;
  version: string;
}

/** The font files (.ttf, .otf) of the installed packages, sorted; the versions go into the recipe. */
function installedFonts(packages: readonly string[]): { fonts: FontFile[]; installed: string[] } {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format fields, not a template
  const query = spawnSync('dpkg-query', ['-W', '-f', '${Package}\t${Version}\t${db:Status-Abbrev}\n', ...packages], { encoding: 'utf8' });
  if (query.error)
    throw new MissingResourceError(`domain B's fonts come from Debian packages, but dpkg-query did not run (${query.error.message})`);
  const versions = new Map(
    query.stdout
      .split('\n')
      .map((line) => line.split('\t'))
      .filter((f) => f[2]?.startsWith('ii'))
      .map((f) => [f[0], f[1]]),
  );
  const fonts = [...versions].flatMap(([pkg, version]) =>
    spawnSync('dpkg-query', ['-L', pkg], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((file) => /\.(ttf|otf)$/.test(file) && fs.existsSync(file))
      .map((file) => ({ id: path.basename(file).replace(/\.(ttf|otf)$/, ''), file, pkg, version })),
  );
  return {
    fonts: fonts.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    installed: [...versions].map(([pkg, version]) => `${pkg} ${version}`).sort(),
  };
}

const hashOf = (text: string | Uint8Array) => createHash('sha1').update(text).digest('base64');

interface Candidate {
  font: number;
  family: string;
  svg: Buffer;
  suspects: string[];
} // svg deflated
interface CharacterEntry {
  code: number;
  script: string;
  shapes: Set<string>;
  candidates: Candidate[];
  twin?: string;
}

/**
 * Reads every font once: each character of B it draws, one candidate per distinct shape. A
 * character drawn in some font exactly like a seen character (shape key) is marked a homoglyph;
 * seen characters of nearly its outline (same commands, aspect within 2 %) are kept as suspects,
 * compared by pixels once rasterised.
 */
function collectCandidates(fonts: FontFile[], size: number, control: RunControl, run: string) {
  const entries = new Map<number, CharacterEntry>();
  for (const s of DOMAIN_SCRIPTS) {
    for (let code = s.from; code <= s.to; code++) {
      if (isDomainCharacter(String.fromCodePoint(code))) entries.set(code, { code, script: s.script, shapes: new Set(), candidates: [] });
    }
  }
  const suspectSvgs = new Map<string, string>();
  const seenSvgs: string[] = []; // the glyph set's base characters in its fonts (DejaVu, Liberation): A's very images
  const unreadable: string[] = [];
  fonts.forEach((f, i) => {
    if (control.signal?.aborted) throw new CancelledError(`${run}: stopped after reading ${i} of ${fonts.length} fonts; nothing was saved`);
    if ((i + 1) % 100 === 0 || i + 1 === fonts.length)
      control.onEvent?.({ kind: 'step', run, step: i + 1, totalSteps: fonts.length, metrics: {} });
    let font: opentype.Font;
    try {
      font = opentype.parse(new Uint8Array(fs.readFileSync(f.file)).buffer);
    } catch (error) {
      unreadable.push(`${f.id} (${(error as Error).message})`);
      return;
    }
    const cmap = font.tables.cmap?.glyphIndexMap ?? {};
    const codes = Object.keys(cmap)
      .map(Number)
      .filter((code) => cmap[code] && entries.has(code));
    if (codes.length === 0) return;
    const family = font.names.preferredFamily?.en ?? font.names.fontFamily?.en ?? f.id;
    const outline = (code: number) => {
      const glyphPath = glyphOutline(font, String.fromCodePoint(code));
      const key = glyphPath && shapeKey(glyphPath);
      if (!glyphPath || !key) return undefined;
      const box = glyphPath.getBoundingBox();
      return {
        code,
        glyphPath,
        key: hashOf(key),
        commands: glyphPath.commands.map((c) => c.type).join(''),
        aspect: (box.x2 - box.x1) / (box.y2 - box.y1),
      };
    };
    const seen = SEEN_CHARACTERS.filter((code) => cmap[code])
      .map(outline)
      .filter((s): s is NonNullable<typeof s> => s !== undefined);
    const seenByKey = new Map(seen.map((s) => [s.key, s.code]));
    if (/^fonts-(dejavu-|liberation$)/.test(f.pkg)) seenSvgs.push(...seen.map((s) => outlineSvg(s.glyphPath, size * 4)!));
    for (const code of codes) {
      const drawn = outline(code);
      const entry = entries.get(code)!;
      if (!drawn) continue;
      const twin = seenByKey.get(drawn.key);
      if (twin !== undefined) {
        entry.twin ??= `${f.id} draws it as U+${twin.toString(16).toUpperCase().padStart(4, '0')}`;
        continue;
      }
      if (entry.shapes.has(drawn.key)) continue; // drawn alike by an earlier font
      entry.shapes.add(drawn.key);
      const suspects = seen
        .filter((s) => s.commands === drawn.commands && Math.abs(s.aspect - drawn.aspect) <= 0.02 * drawn.aspect)
        .map((s) => {
          const key = `${f.id}\n${s.code}`;
          if (!suspectSvgs.has(key)) suspectSvgs.set(key, outlineSvg(s.glyphPath, size * 4)!);
          return key;
        });
      entry.candidates.push({ font: i, family, svg: Buffer.from(deflateRawSync(outlineSvg(drawn.glyphPath, size * 4)!)), suspects });
    }
  });
  return { entries: [...entries.values()], suspectSvgs, seenSvgs, unreadable };
}

/** Candidates in drawing order: one font family after another (sorted), then each family's next font. */
function byFamilyRoundRobin(candidates: Candidate[], fonts: FontFile[]): Candidate[] {
  const families = new Map<string, Candidate[]>();
  for (const c of [...candidates].sort((a, b) => (fonts[a.font].id < fonts[b.font].id ? -1 : 1))) {
    families.set(c.family, [...(families.get(c.family) ?? []), c]);
  }
  const lists = [...families.keys()].sort().map((family) => families.get(family)!);
  const longest = Math.max(0, ...lists.map((l) => l.length));
  return Array.from({ length: longest }, (_, round) => lists.flatMap((l) => (round < l.length ? [l[round]] : []))).flat();
}

/** Assigns every class a split: seeded random by class, or whole scripts (DOMAIN_SCRIPTS' byScript). */
export function assignDomainSplits(
  classes: readonly ClassInfo[],
  rule: DomainSplitRule,
  proportions: DomainProportions,
  seed: number,
): ClassInfo[] {
  if (rule === 'by-script')
    return classes.map((c) => ({ ...c, split: DOMAIN_SCRIPTS.find((s) => s.script === c.category)?.byScript ?? 'novel' }));
  const order = new SeededRandom(seed).permutation(classes.length);
  const base = Math.round(classes.length * proportions.base);
  const validation = Math.round(classes.length * proportions.validation);
  const splitAt = new Array<Split>(classes.length);
  order.forEach((classIndex, rank) => {
    splitAt[classIndex] = rank < base ? 'base' : rank < base + validation ? 'validation' : 'novel';
  });
  return classes.map((c, i) => ({ ...c, split: splitAt[i] }));
}

function checkedProportions(p: DomainProportions): DomainProportions {
  const values = [p?.base, p?.validation, p?.novel];
  if (values.some((v) => typeof v !== 'number' || !(v >= 0)) || Math.abs(values.reduce((a, b) => a + b, 0) - 1) > 1e-9) {
    throw new ConfigError(`loadGlyphDomainDataset: proportions must be three non-negative shares summing to 1, found ${JSON.stringify(p)}`);
  }
  return { base: p.base, validation: p.validation, novel: p.novel };
}

/** Rasterises each character's candidates in drawing order until maxImages distinct images; drops homoglyphs. */
async function drawClasses(
  entries: CharacterEntry[],
  fonts: FontFile[],
  suspectSvgs: Map<string, string>,
  seenSvgs: string[],
  o: { size: number; minImages: number; maxImages: number },
  control: RunControl,
  run: string,
) {
  // an image equal to one of A's glyph images in another font (a thin bar = l, I) makes a homoglyph too
  const seenImages = new Set((await mapLimited(seenSvgs, 4, (svg) => rasterizeSvg(svg, o.size))).map(hashOf));
  const suspectHashes = new Map<string, Promise<string>>();
  const suspectHash = (key: string) => {
    if (!suspectHashes.has(key)) suspectHashes.set(key, rasterizeSvg(suspectSvgs.get(key)!, o.size).then(hashOf));
    return suspectHashes.get(key)!;
  };
  const eligible = entries.filter((e) => e.twin === undefined && e.candidates.length >= o.minImages);
  const homoglyphs = entries
    .filter((e) => e.twin !== undefined)
    .map((e) => `U+${e.code.toString(16).toUpperCase().padStart(4, '0')}: ${e.twin}`);
  control.onEvent?.({
    kind: 'phase',
    run,
    phase: 'rasterise',
    message: `${eligible.length} characters with ≥ ${o.minImages} shapes; ${homoglyphs.length} homoglyphs of seen characters left out`,
  });
  const drawn = await mapLimited(
    eligible,
    4,
    async (entry) => {
      if (control.signal?.aborted) throw new CancelledError(`${run}: stopped while rasterising; nothing was saved`);
      const classId = `glyph:${entry.code.toString(16).padStart(4, '0')}`;
      const images: RenderedImage[] = [];
      const hashes = new Set<string>();
      for (const c of byFamilyRoundRobin(entry.candidates, fonts)) {
        if (images.length >= o.maxImages) break;
        const pixels = await rasterizeSvg(inflateRawSync(c.svg).toString('utf8'), o.size);
        const hash = hashOf(pixels);
        if (hashes.has(hash)) continue; // two fonts (weights, families) drawing it alike at this size
        if (seenImages.has(hash)) {
          homoglyphs.push(
            `U+${entry.code.toString(16).toUpperCase().padStart(4, '0')}: ${fonts[c.font].id} draws it like a glyph-set base image`,
          );
          return [];
        }
        for (const key of c.suspects) {
          if ((await suspectHash(key)) === hash) {
            homoglyphs.push(`U+${entry.code.toString(16).toUpperCase().padStart(4, '0')}: ${key.replace('\n', ' draws it as code ')}`);
            return [];
          }
        }
        hashes.add(hash);
        images.push({ classId, source: fonts[c.font].id, pixels });
      }
      return images.length >= o.minImages ? images : [];
    },
    (done) => {
      if (done % 50 === 0 || done === eligible.length)
        control.onEvent?.({ kind: 'step', run, step: done, totalSteps: eligible.length, metrics: {} });
    },
  );
  const kept = eligible.filter((_, i) => drawn[i].length > 0);
  const classes: ClassInfo[] = kept.map((e) => {
    const char = String.fromCodePoint(e.code);
    return {
      id: `glyph:${e.code.toString(16).padStart(4, '0')}`,
      name: `${char} U+${e.code.toString(16).toUpperCase().padStart(4, '0')}`,
      split: 'novel',
      category: e.script,
    };
  });
  return { classes, images: drawn.flat(), homoglyphs };
}

/** The image store of the other split rule, when it was built from the same fonts and options: its images are reused. */
function siblingImages(dir: string, name: string, render: Record<string, unknown>): ImageStore | undefined {
  const { json } = storePaths(dir, name);
  if (!fs.existsSync(json)) return undefined;
  try {
    const recipe = JSON.parse(fs.readFileSync(json, 'utf8'))?.recipe;
    return JSON.stringify(recipe?.render) === JSON.stringify(render) ? readStore(dir, name, recipe) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Domain B: printed characters of many non-Latin scripts (DOMAIN_SCRIPTS), class = character,
 * image = that character drawn by one font file of the Debian font packages (DOMAIN_FONT_PACKAGES).
 * Fonts are filtered by their cmap, blank glyphs dropped, images that are equal at `size` pixels
 * counted once, and each character keeps at most `maxImages` images, taken one font family after
 * another. Characters with fewer than `minImages` distinct images are left out, and so are
 * homoglyphs of domain A's glyphs (Latin, Cyrillic, digits: SEEN_CHARACTERS) in any font. Every
 * class is then given a split: seeded random by class (default 60/15/25 % base/validation/novel),
 * or by script. Cached like the glyph set; the recipe holds the font packages and their versions.
 */
export async function loadGlyphDomainDataset(options: GlyphDomainOptions = {}): Promise<StoreDataset> {
  const size = positiveIntegerOption(options.size ?? 32, 'loadGlyphDomainDataset: size');
  const minImages = positiveIntegerOption(options.minImages ?? 20, 'loadGlyphDomainDataset: minImages');
  const maxImages = positiveIntegerOption(options.maxImages ?? Math.max(24, minImages), 'loadGlyphDomainDataset: maxImages');
  if (maxImages < minImages)
    throw new ConfigError(`loadGlyphDomainDataset: maxImages must be at least minImages (${minImages}), found ${maxImages}`);
  const rule = options.split ?? 'random';
  if (rule !== 'random' && rule !== 'by-script')
    throw new ConfigError(`loadGlyphDomainDataset: split must be 'random' or 'by-script', found ${JSON.stringify(rule)}`);
  const proportions = checkedProportions(options.proportions ?? DOMAIN_PROPORTIONS);
  const seed = options.seed ?? 1;
  const packages = options.packages ?? DOMAIN_FONT_PACKAGES;
  const { fonts, installed } = installedFonts(packages);
  if (fonts.length === 0)
    throw new MissingResourceError(
      `no font files in the Debian packages ${packages.join(', ')}: run scripts/setup.sh as root (or apt-get install them)`,
    );

  const render = {
    size,
    minImages,
    maxImages,
    scripts: DOMAIN_SCRIPTS.map((s) => `${s.script} ${s.from.toString(16)}-${s.to.toString(16)}`),
    packages: installed,
    fonts: fonts.map((f) => f.id),
    version: 2,
  };
  const splitRecipe =
    rule === 'random'
      ? { rule, proportions, seed }
      : { rule, scripts: Object.fromEntries(DOMAIN_SCRIPTS.map((s) => [s.script, s.byScript])) };
  const recipe = { set: 'glyph-domain', render, split: splitRecipe };
  const dir = options.cacheDir ?? defaultCacheDir();
  const name = `glyph-domain-${size}${rule === 'by-script' ? '-by-script' : ''}`;
  const cached = readStore(dir, name, recipe);
  if (cached) return new StoreDataset(cached);

  const run = `build ${name}`;
  const sibling = siblingImages(dir, `glyph-domain-${size}${rule === 'by-script' ? '' : '-by-script'}`, render);
  let store: { classes: ClassInfo[]; images: { classId: string; source: string }[]; pixels: Uint8Array; licences: Record<string, string> };
  if (sibling) {
    options.onEvent?.({ kind: 'phase', run, phase: 'split', message: `images reused from ${sibling.index.name}` });
    store = { ...sibling.index, pixels: sibling.pixels };
  } else {
    options.onEvent?.({ kind: 'phase', run, phase: 'fonts', message: `${fonts.length} font files of ${installed.length} packages` });
    const { entries, suspectSvgs, seenSvgs, unreadable } = collectCandidates(fonts, size, options, run);
    if (unreadable.length)
      options.onEvent?.({ kind: 'phase', run, phase: 'fonts', message: `unreadable, skipped: ${unreadable.join('; ')}` });
    const drawn = await drawClasses(entries, fonts, suspectSvgs, seenSvgs, { size, minImages, maxImages }, options, run);
    const pixels = new Uint8Array(drawn.images.length * size * size * 3);
    drawn.images.forEach((image, i) => pixels.set(image.pixels, i * size * size * 3));
    const used = new Set(drawn.images.map((image) => image.source));
    const licences = Object.fromEntries(
      fonts.filter((f) => used.has(f.id)).map((f) => [f.id, `${fontLicence(f.pkg)} (${f.pkg} ${f.version})`]),
    );
    store = { classes: drawn.classes, images: drawn.images.map(({ classId, source }) => ({ classId, source })), pixels, licences };
  }
  const classes = assignDomainSplits(store.classes, rule, proportions, seed);
  return new StoreDataset(
    writeStore(dir, {
      pixels: store.pixels,
      index: { name, imageSize: size, classes, images: store.images, licences: store.licences, recipe },
    }),
  );
}
