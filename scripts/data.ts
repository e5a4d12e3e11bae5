/**
 * The data command (issue 3).
 *   npm run data -- build [--size 32|64]   build (or validate the cached) emoji, glyph, MNIST and
 *                                          Fashion-MNIST sets; print counts and checksums
 *   npm run data -- card [--size 32|64]    the same, then write docs/data-card.md
 * The cache is $LORA_RECYCLE_DATA_DIR, else the user's cache directory (src/paths/cache-dir.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { progressBar } from '../src/cli/progress-bar';
import {
  buildAllData,
  classesOf,
  digitGlyphTwins,
  DOMAIN_PROPORTIONS,
  DOMAIN_SCRIPTS,
  EMOJI_SPLITS,
  GLYPH_SCRIPTS,
  nameWords,
  sharedNouns,
  SPLITS,
  summarizeDataset,
  type DatasetSummary,
  type StoreDataset,
} from '../src/data';
import { defaultCacheDir } from '../src/paths';
import { ConfigError } from '../src/errors';
import { writeFileAtomic } from '../src/io/atomic-write';
import { commandLine } from './command-line';

const CARD = path.resolve(__dirname, '..', 'docs', 'data-card.md');
const BENCH = path.resolve(__dirname, '..', 'bench', 'results', 'data-build.json');
const SPLIT_ORDER = SPLITS;

function splitText(s: DatasetSummary): string {
  return SPLIT_ORDER.filter((k) => s.splits[k])
    .map((k) => `${k} ${s.splits[k]!.classes}/${s.splits[k]!.images}`)
    .join(', ');
}

function printSummary(s: DatasetSummary, seconds: number): void {
  console.log(
    `${s.name}: ${s.classes} classes, ${s.images} images (${splitText(s)} classes/images) in ${seconds.toFixed(1)} s, sha256 ${s.checksum}`,
  );
}

const number = (n: number): string => n.toLocaleString('en-US');

function splitRule(name: string): string {
  if (name.startsWith('emoji')) {
    const bySplit = SPLIT_ORDER.map((split) => [split, Object.keys(EMOJI_SPLITS).filter((g) => EMOJI_SPLITS[g] === split)] as const).filter(
      ([, g]) => g.length,
    );
    return `Split by Unicode emoji category: ${bySplit.map(([split, groups]) => `${split} = ${groups.join(', ')}`).join('; ')}. The backbone is pretrained on the pretrain categories (and the glyph base scripts), the LoRA zoo is tuned on the base categories, validation selects meta-LoRAs, and novel is meta-test: as in the paper, the backbone never sees the zoo's tasks, and no model sees a meta-test class. Emoji drawn by fewer than 6 artist sets are left out; a held-out emoji keeps no drawing identical to a pretrain or base emoji's drawing by the same artist.`;
  }
  if (name.startsWith('glyph-domain')) {
    const { base, validation, novel } = DOMAIN_PROPORTIONS;
    return `Domain B: class = one character of a non-Latin script, image = that character drawn by one font file (src/data/glyph-domain.ts). Split at random by class with seed 1: ${base * 100} % base (the zoo's classes), ${validation * 100} % validation, ${novel * 100} % novel (meta-test); \`split: 'by-script'\` gives the harder cross-script split instead (scripts below). Each character keeps at most 24 and at least 20 distinct images (equal images at 32 px counted once), taken one font family after another.`;
  }
  if (name.startsWith('glyphs')) {
    const bySplit = SPLIT_ORDER.map(
      (split) => [split, GLYPH_SCRIPTS.filter((s) => s.split === split).map((s) => s.script)] as const,
    ).filter(([, s]) => s.length);
    return `Split by script: ${bySplit.map(([split, scripts]) => `${split} = ${scripts.join(', ')}`).join('; ')}. The base scripts pretrain the backbone (beside the emoji pretrain categories) and the image-prior CNN; test is a cross-domain meta-test set. Characters present in fewer than 6 fonts (by cmap) are left out, and so are held-out characters drawn exactly like a base character in some font (homoglyphs such as Greek Α = Latin A).`;
  }
  return 'The 10,000 test images, all in split test (a cross-domain test set), resized to the set size and made RGB.';
}

/**
 * The card's "Concept overlaps" section: concepts a split shares with the backbone's training splits
 * (emoji pretrain, glyph base) under other class ids, found from the class names (src/data/concept-overlaps.ts).
 */
/** The card's "Domain B" section: what the backbone may see (A) and the target domain (B), per script. */
function domainLines(datasets: StoreDataset[]): string[] {
  const domain = datasets.find((d) => d.name.startsWith('glyph-domain-'));
  if (!domain) return [];
  const perScript = DOMAIN_SCRIPTS.map((s) => {
    const classes = domain.classes.filter((c) => c.category === s.script);
    const count = (split: string) => classes.filter((c) => c.split === split).length;
    return `| ${s.script} | U+${s.from.toString(16).toUpperCase().padStart(4, '0')}–${s.to.toString(16).toUpperCase().padStart(4, '0')} | ${classes.length} | ${count('base')} / ${count('validation')} / ${count('novel')} | ${s.byScript} |`;
  });
  const counts = domain.classes.map((c) => domain.imagesOf(c.id).length).sort((a, b) => a - b);
  const packages = [...new Set(Object.values(domain.licences).map((l) => l.replace(/^.*\((\S+) .*\)$/, '$1')))].sort();
  return [
    '## Domain B (glyph-domain)',
    '',
    "**Decision.** B = printed characters of many non-Latin scripts; A, what the backbone may see, = emoji and Latin/Cyrillic/digit glyphs today; a later retrain drops the glyphs from A. B holds no Latin, Cyrillic or ASCII digit character, no emoji (Extended_Pictographic), and no homoglyph of A's glyphs: a character some font draws with the outline of a Latin, Cyrillic or digit character of that font (same shape up to position and scale), or whose kept image equals such a character's image in the same font, is left out. Residual risk: a script font without Latin cannot be compared this way (e.g. Cherokee letters that resemble Latin ones in another font).",
    '',
    `Images per class: min ${counts[0]}, median ${counts[Math.floor(counts.length / 2)]}, max ${counts[counts.length - 1]}. Fonts: ${Object.keys(domain.licences).length} font files used, from the Debian packages ${packages.join(', ')} (versions and licence per font file in the table above and in the store's recipe). Characters come from a font's cmap only (no missing-glyph boxes); blank glyphs, marks, punctuation and emoji are left out. Left out for want of fonts (fewer than 20 fonts draw their characters): Oriya, Tibetan, Mongolian, Runic, Ogham, Coptic, Syriac, Thaana, N'Ko, Vai, Yi.`,
    '',
    'Episodes: `sampleEpisodes` with `disjointSources` draws support and query from disjoint halves of the font files (src/data/episodes.ts); two weights of one family count as two fonts.',
    '',
    '| script | code points | classes | random split base / validation / novel | by-script split |',
    '|---|---|---:|---|---|',
    ...perScript,
    '',
  ];
}

function conceptOverlapLines(datasets: StoreDataset[]): string[] {
  const find = (prefix: string) => datasets.find((d) => d.name.startsWith(`${prefix}-`));
  const [emoji, glyphs, mnist, fashion] = ['emoji', 'glyphs', 'mnist', 'fashion-mnist'].map(find);
  const lines = [
    '## Concept overlaps',
    '',
    'Splits keep class ids apart, not concepts. The backbone is trained on no class id of emoji base, validation or novel, glyph test, MNIST or Fashion-MNIST (`assets/backbone/training-record.json` lists the ids it was trained on), but some of their concepts it has seen under other ids. Found from the class names by `digitGlyphTwins` and `sharedNouns` (src/data/concept-overlaps.ts); the splits and the shipped backbone are left as they are.',
    '',
  ];
  if (mnist && glyphs) {
    const twins = digitGlyphTwins(mnist.classes, glyphs.classes).filter((t) => t.glyph.split === 'base');
    lines.push(
      `- **MNIST = glyph base digits.** ${twins.length} of MNIST's ${mnist.classes.length} classes are glyph base characters, which pretrain the backbone: ${twins.map((t) => `${t.digit.id} = ${t.glyph.id}`).join(', ')}. MNIST tests new handwriting of seen concepts (the backbone saw the digits drawn in fonts), not unseen classes.`,
    );
  }
  if (emoji) {
    const pretrain = classesOf(emoji, 'pretrain');
    const novel = classesOf(emoji, 'novel');
    const overlaps = sharedNouns(pretrain, novel);
    const nouns = [...new Set(overlaps.map((o) => o.noun))];
    lines.push(
      `- **Emoji pretrain and novel.** ${overlaps.length} of the ${pretrain.length} pretrain emoji share a noun with the novel split (${nouns.length} nouns: ${nouns.join(', ')}): a pretrain emoji's name holds, as a word, the whole name of a novel emoji. Cat and monkey faces (Smileys & Emotion) draw the animals that novel (Animals & Nature) asks about; "horse racing" draws a rider on a horse, the lotus position a person sitting.`,
      '',
      '| noun | pretrain emoji (trained on) | novel emoji with the noun in their name |',
      '|---|---|---|',
      ...nouns.map(
        (noun) =>
          `| ${noun} | ${overlaps
            .filter((o) => o.noun === noun)
            .map((o) => o.seen.name)
            .join(', ')} | ${novel
            .filter((c) => nameWords(c.name).includes(noun))
            .map((c) => c.name)
            .join(', ')} |`,
      ),
      '',
    );
    if (fashion) {
      const shared = sharedNouns(pretrain, fashion.classes);
      lines.push(
        `- **Fashion-MNIST.** ${shared.length} pretrain emoji share a noun with a Fashion-MNIST class${shared.length ? `: ${shared.map((o) => o.seen.name).join(', ')}` : ''}.`,
      );
    }
  }
  lines.push('');
  return lines;
}

interface BenchRecord {
  date: string;
  seconds: number;
  peakRssMiB: number;
  size: number;
}

function card(
  summaries: DatasetSummary[],
  missing: { name: string; message: string }[],
  seconds: number,
  size: number,
  overlaps: string[],
): string {
  const bench = fs.existsSync(BENCH) ? (JSON.parse(fs.readFileSync(BENCH, 'utf8')) as BenchRecord) : undefined;
  const lines = [
    '# Data card',
    '',
    `Generated by \`npm run data -- card --size ${size}\` on ${new Date().toISOString().slice(0, 10)}. All sets are built offline from installed packages, deterministically, and cached in \`$LORA_RECYCLE_DATA_DIR\`, else \`~/.cache/lora-recycle/data\` (\`$XDG_CACHE_HOME\` honoured), as a uint8 RGB store with a sha256 checksum checked on every load.`,
    '',
    '| set | image size | classes | images | splits (classes/images) | sha256 of the pixel store |',
    '|---|---:|---:|---:|---|---|',
    ...summaries.map(
      (s) =>
        `| ${s.name} | ${s.imageSize}×${s.imageSize} RGB | ${number(s.classes)} | ${number(s.images)} | ${splitText(s)} | \`${s.checksum}\` |`,
    ),
    '',
    ...missing.map((m) => `Not built (optional data absent): **${m.name}**: ${m.message}`),
    missing.length ? '' : undefined,
    '## Build time',
    '',
    bench
      ? `Fresh build of the default data (${bench.size}×${bench.size}, empty cache, \`npm run bench:data\`, ${bench.date.slice(0, 10)}): **${bench.seconds.toFixed(1)} s**, peak RSS ${bench.peakRssMiB.toFixed(0)} MiB, on a shared 2-core machine.`
      : 'No benchmark result yet: run `npm run bench:data` for the build time of a fresh cache.',
    `This card's run took ${seconds.toFixed(1)} s (a warm cache only validates checksums).`,
    '',
  ].filter((l): l is string => l !== undefined);
  for (const s of summaries) {
    lines.push(`## ${s.name}`, '', splitRule(s.name), '', '| split | classes | images |', '|---|---:|---:|');
    for (const k of SPLIT_ORDER) if (s.splits[k]) lines.push(`| ${k} | ${number(s.splits[k]!.classes)} | ${number(s.splits[k]!.images)} |`);
    lines.push('', '| source | images | licence |', '|---|---:|---|');
    for (const source of Object.keys(s.licences).sort())
      lines.push(`| ${source} | ${number(s.sources[source] ?? 0)} | ${s.licences[source]} |`);
    lines.push('');
  }
  lines.push(...overlaps);
  lines.push(
    '## Episodes',
    '',
    '`sampleEpisodes` (src/data/episodes.ts) draws seeded N-way K-shot episodes from one split. Emoji classes have at most one image per artist (≤ 12), so a class gives min(Q, images − K) queries and classes with fewer than K + 1 images are skipped; both are recorded in the episode list. With `disjointSources` support and query come from disjoint halves of the artist sets / fonts. Fixed lists are saved as JSON (`saveEpisodes`) so every method sees identical episodes.',
    '',
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const {
    values,
    positionals: [command],
  } = commandLine({ size: '32' });
  if (command !== 'build' && command !== 'card')
    throw new ConfigError(`usage: npm run data -- build|card [--size 32|64], found ${command ?? 'no command'}`);
  const size = Number(values.size);
  if (size !== 32 && size !== 64) throw new ConfigError(`--size must be 32 or 64, found ${values.size}`);
  console.log(`data cache: ${defaultCacheDir()}`);
  const started = Date.now();
  const built = await buildAllData({ size, onEvent: progressBar() });
  const { datasets, missing } = built;
  const seconds = (Date.now() - started) / 1000;
  const summaries = datasets.map(summarizeDataset);
  summaries.forEach((s) => printSummary(s, built.seconds[s.name]));
  for (const m of missing) console.log(`${m.name}: not built: ${m.message}`);
  console.log(`done in ${seconds.toFixed(1)} s`);
  if (command === 'card') {
    writeFileAtomic(CARD, card(summaries, missing, seconds, size, [...domainLines(datasets), ...conceptOverlapLines(datasets)]));
    console.log(`wrote ${path.relative(process.cwd(), CARD)}`);
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exit(1);
});
