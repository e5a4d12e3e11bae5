import { createHash } from 'crypto';
import { spawnSync } from 'child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  assignDomainSplits,
  DOMAIN_PROPORTIONS,
  DOMAIN_SCRIPTS,
  loadGlyphDataset,
  loadGlyphDomainDataset,
  SEEN_CHARACTERS,
  summarizeDataset,
  TRAINING_SPLITS,
  type StoreDataset,
} from '../../src/data';

// Domain B's fonts are Debian packages that scripts/setup.sh installs; without them the tests say so and skip.
// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format field, not a template
const DPKG_STATUS_FORMAT = '${db:Status-Abbrev}';
const fontsInstalled =
  spawnSync('dpkg-query', ['-W', '-f', DPKG_STATUS_FORMAT, 'fonts-noto-core', 'fonts-noto-extra'], { encoding: 'utf8' }).stdout?.split('ii')
    .length === 3;
if (!fontsInstalled)
  console.warn('glyph-domain tests skipped: fonts-noto-core and fonts-noto-extra are not installed (run scripts/setup.sh as root)');

const hash = (pixels: Float32Array) => createHash('sha256').update(new Uint8Array(pixels.buffer)).digest('hex');
const codeOf = (classId: string) => Number.parseInt(classId.slice('glyph:'.length), 16);
const BUILD_TIMEOUT = 900_000; // a cold build reads ~2,300 fonts and rasterises ~60k glyphs (minutes); the shared cache makes it seconds

describe.skipIf(!fontsInstalled)('domain B (loadGlyphDomainDataset), from the shared default cache', () => {
  let random: StoreDataset;
  let byScript: StoreDataset;
  beforeAll(async () => {
    random = await loadGlyphDomainDataset();
    byScript = await loadGlyphDomainDataset({ split: 'by-script' }); // reuses the random build's images
  }, BUILD_TIMEOUT);

  it('puts every class in exactly one of base, validation and novel, in about the default proportions', () => {
    const ids = random.classes.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThan(500);
    const summary = summarizeDataset(random);
    expect(Object.keys(summary.splits).sort()).toEqual(['base', 'novel', 'validation']);
    for (const split of ['base', 'validation', 'novel'] as const) {
      expect(Math.abs(summary.splits[split]!.classes / ids.length - DOMAIN_PROPORTIONS[split])).toBeLessThan(0.01);
    }
    expect(random.classes.reduce((n, c) => n + random.imagesOf(c.id).length, 0)).toBe(random.imageCount);
  });

  it('draws the random split by class from the seed: the same seed gives the same split, another seed another', () => {
    const unsplit = random.classes.map((c) => ({ ...c, split: 'novel' as const }));
    expect(assignDomainSplits(unsplit, 'random', DOMAIN_PROPORTIONS, 1)).toEqual(random.classes);
    expect(assignDomainSplits(unsplit, 'random', DOMAIN_PROPORTIONS, 1)).toEqual(
      assignDomainSplits(unsplit, 'random', DOMAIN_PROPORTIONS, 1),
    );
    expect(assignDomainSplits(unsplit, 'random', DOMAIN_PROPORTIONS, 2).map((c) => c.split)).not.toEqual(
      random.classes.map((c) => c.split),
    );
    // by class, not by script: most scripts have classes in all three splits
    const splitsOf = (script: string) => new Set(random.classes.filter((c) => c.category === script).map((c) => c.split));
    expect(DOMAIN_SCRIPTS.filter((s) => splitsOf(s.script).size === 3).length).toBeGreaterThan(DOMAIN_SCRIPTS.length / 2);
  });

  it('gives every class at least 20 images, no two of them equal', () => {
    for (const c of random.classes) {
      const hashes = random.imagesOf(c.id).map((r) => hash(random.pixels(r)));
      expect(hashes.length, c.name).toBeGreaterThanOrEqual(20);
      expect(new Set(hashes).size, c.name).toBe(hashes.length);
    }
  });

  it('holds no Latin, Cyrillic or digit character, and no image equal to a base image of the glyph set', async () => {
    const seen = new Set(SEEN_CHARACTERS);
    const foreign = random.classes.filter(
      (c) => seen.has(codeOf(c.id)) || /\p{Script=Latin}|\p{Script=Cyrillic}|[0-9]/u.test(String.fromCodePoint(codeOf(c.id))),
    );
    expect(foreign.map((c) => c.name)).toEqual([]);
    const glyphs = await loadGlyphDataset();
    const base = new Set(
      glyphs.classes
        .filter((c) => TRAINING_SPLITS.includes(c.split))
        .flatMap((c) => glyphs.imagesOf(c.id).map((r) => hash(glyphs.pixels(r)))),
    );
    expect(base.size).toBeGreaterThan(1000);
    const copies = random.classes.flatMap((c) =>
      random
        .imagesOf(c.id)
        .filter((r) => base.has(hash(random.pixels(r))))
        .map((r) => `${c.name} by ${r.source}`),
    );
    expect(copies).toEqual([]);
  });

  it('by script: the same classes and images, each script wholly in the split DOMAIN_SCRIPTS names', () => {
    expect(byScript.checksum).toBe(random.checksum);
    expect(byScript.classes.map((c) => c.id)).toEqual(random.classes.map((c) => c.id));
    for (const s of DOMAIN_SCRIPTS) {
      const splits = new Set(byScript.classes.filter((c) => c.category === s.script).map((c) => c.split));
      expect(
        [...splits].filter((split) => split !== s.byScript),
        s.script,
      ).toEqual([]); // a script may keep no class (Tifinagh at 20)
    }
  });
});

describe('loadGlyphDomainDataset options', () => {
  it('rejects proportions that do not sum to 1, and maxImages below minImages', async () => {
    await expect(loadGlyphDomainDataset({ proportions: { base: 0.5, validation: 0.2, novel: 0.2 } })).rejects.toThrow(
      /proportions must be three non-negative shares summing to 1/,
    );
    await expect(loadGlyphDomainDataset({ minImages: 20, maxImages: 10 })).rejects.toThrow(
      /maxImages must be at least minImages \(20\), found 10/,
    );
  });
});
