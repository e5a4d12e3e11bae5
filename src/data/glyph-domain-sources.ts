import type { Split } from './dataset';

/**
 * What domain B (src/data/glyph-domain.ts) is drawn from: the scripts (code point blocks), the
 * Debian font packages, their licences, and the characters the backbone may have seen (domain A).
 */

/** A script of domain B: a code point block, and the split it takes in the by-script split. */
export interface DomainScript {
  script: string;
  from: number;
  to: number;
  byScript: Exclude<Split, 'pretrain' | 'test'>;
}

/**
 * Scripts with at least 20 installed fonts for most of their characters. Left out for want of
 * fonts (fewer than 20 fonts draw any of their characters): Oriya, Tibetan, Mongolian, Runic,
 * Ogham, Coptic, Syriac, Thaana, N'Ko, Vai, Yi. By-script split (about 60/15/25 % of classes):
 * novel and validation take whole scripts of several kinds (letters, syllabaries, symbols).
 */
export const DOMAIN_SCRIPTS: readonly DomainScript[] = [
  { script: 'Greek', from: 0x370, to: 0x3ff, byScript: 'base' },
  { script: 'Armenian', from: 0x530, to: 0x58f, byScript: 'validation' },
  { script: 'Hebrew', from: 0x590, to: 0x5ff, byScript: 'novel' },
  { script: 'Arabic', from: 0x600, to: 0x6ff, byScript: 'base' },
  { script: 'Devanagari', from: 0x900, to: 0x97f, byScript: 'base' },
  { script: 'Bengali', from: 0x980, to: 0x9ff, byScript: 'base' },
  { script: 'Gurmukhi', from: 0xa00, to: 0xa7f, byScript: 'validation' },
  { script: 'Gujarati', from: 0xa80, to: 0xaff, byScript: 'base' },
  { script: 'Tamil', from: 0xb80, to: 0xbff, byScript: 'base' },
  { script: 'Telugu', from: 0xc00, to: 0xc7f, byScript: 'base' },
  { script: 'Kannada', from: 0xc80, to: 0xcff, byScript: 'novel' },
  { script: 'Malayalam', from: 0xd00, to: 0xd7f, byScript: 'novel' },
  { script: 'Sinhala', from: 0xd80, to: 0xdff, byScript: 'validation' },
  { script: 'Thai', from: 0xe00, to: 0xe7f, byScript: 'base' },
  { script: 'Lao', from: 0xe80, to: 0xeff, byScript: 'validation' },
  { script: 'Myanmar', from: 0x1000, to: 0x109f, byScript: 'base' },
  { script: 'Georgian', from: 0x10a0, to: 0x10ff, byScript: 'base' },
  { script: 'Ethiopic', from: 0x1200, to: 0x137f, byScript: 'novel' },
  { script: 'Cherokee', from: 0x13a0, to: 0x13ff, byScript: 'validation' },
  { script: 'Canadian syllabics', from: 0x1400, to: 0x167f, byScript: 'base' },
  { script: 'Khmer', from: 0x1780, to: 0x17ff, byScript: 'novel' },
  { script: 'Tifinagh', from: 0x2d30, to: 0x2d7f, byScript: 'novel' },
  { script: 'Arrows', from: 0x2190, to: 0x21ff, byScript: 'validation' },
  { script: 'Math operators', from: 0x2200, to: 0x22ff, byScript: 'base' },
  { script: 'Misc technical', from: 0x2300, to: 0x23ff, byScript: 'base' },
  { script: 'Geometric shapes', from: 0x25a0, to: 0x25ff, byScript: 'novel' },
];

/** A drawable class: a letter, number or symbol; no mark, punctuation or emoji (emoji are domain A). */
export function isDomainCharacter(char: string): boolean {
  return /^[\p{L}\p{N}\p{S}]$/u.test(char) && !/\p{Extended_Pictographic}/u.test(char);
}

/**
 * Domain A's glyphs (what the backbone may have seen): ASCII letters and digits, Latin-1 and
 * Latin Extended-A letters, Cyrillic. No class of B is one of them, and a character of B drawn
 * exactly like one of them in some font (a homoglyph, e.g. Greek Α = Latin A) is left out.
 */
export const SEEN_CHARACTERS: readonly number[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
  [0xc0, 0x17f],
  [0x400, 0x4ff],
]
  .flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i))
  .filter((code) => /^[\p{L}\p{N}]$/u.test(String.fromCodePoint(code)));

/** Licence family of each font package (from /usr/share/doc/<package>/copyright). */
const LICENCES: [RegExp, string][] = [
  [/^fonts-(noto-|sil-|gfs-|lohit-|hosny-amiri|stix|yrsa-rasa|teluguvijayam|navilu|kalapi)/, 'SIL OFL 1.1'],
  [/^fonts-smc-/, 'SIL OFL 1.1 / GPL-3+ (Swathanthra Malayalam Computing; per font, see the copyright file)'],
  [/^fonts-(freefont-ttf|samyak-|lg-aboriginal)/, 'GPL-3+ with the font exception'],
  [/^fonts-(tlwg-|gubbi|guru-extra)/, 'GPL-2+ with the font exception'],
  [
    /^fonts-(kacst|arabeyes|bpg-georgian|lklug-sinhala|deva-extra|gujr-extra|telu-extra|orya-extra|beng-extra|gargi|nakula|sahadeva|farsiweb)/,
    'GPL-2+',
  ],
  [/^fonts-(khmeros|lao)$/, 'LGPL-2.1+'],
  [/^fonts-ukij-uyghur$/, 'SIL OFL 1.1 or LGPL-3'],
  [/^fonts-dzongkha$/, 'SIL OFL 1.0 / GPL-2+'],
  [/^fonts-tibetan-machine$/, 'GPL-1+'],
  [/^fonts-mph-2b-damase$/, 'public domain'],
  [/^fonts-dejavu-/, 'Bitstream Vera licence, DejaVu changes public domain'],
  [/^fonts-liberation$/, 'GPL-2 with the font exception, Liberation Fonts licence'],
];

export function fontLicence(pkg: string): string {
  return LICENCES.find(([pattern]) => pattern.test(pkg))?.[1] ?? `see /usr/share/doc/${pkg}/copyright`;
}

/**
 * The Debian packages holding domain B's font files (scripts/setup.sh installs them; the fonts-beng,
 * fonts-deva, ... metapackages pull in the Indic ones, fonts-thai-tlwg the fonts-tlwg-*-ttf ones).
 */
export const DOMAIN_FONT_PACKAGES: readonly string[] = [
  'fonts-noto-core',
  'fonts-noto-extra',
  'fonts-freefont-ttf',
  'fonts-dejavu-core',
  'fonts-dejavu-extra',
  'fonts-liberation',
  'fonts-sil-abyssinica',
  'fonts-sil-padauk',
  'fonts-sil-ezra',
  'fonts-sil-scheherazade',
  'fonts-sil-lateef',
  'fonts-sil-harmattan',
  'fonts-sil-annapurna',
  'fonts-sil-mondulkiri',
  'fonts-sil-sophia-nubian',
  'fonts-hosny-amiri',
  'fonts-kacst',
  'fonts-arabeyes',
  'fonts-farsiweb',
  'fonts-ukij-uyghur',
  'fonts-bpg-georgian',
  'fonts-gfs-artemisia',
  'fonts-gfs-baskerville',
  'fonts-gfs-bodoni-classic',
  'fonts-gfs-complutum',
  'fonts-gfs-didot',
  'fonts-gfs-gazis',
  'fonts-gfs-neohellenic',
  'fonts-gfs-olga',
  'fonts-gfs-porson',
  'fonts-gfs-solomos',
  'fonts-gfs-theokritos',
  'fonts-beng-extra',
  'fonts-lohit-beng-assamese',
  'fonts-lohit-beng-bengali',
  'fonts-deva-extra',
  'fonts-gargi',
  'fonts-lohit-deva',
  'fonts-nakula',
  'fonts-sahadeva',
  'fonts-samyak-deva',
  'fonts-gujr-extra',
  'fonts-kalapi',
  'fonts-lohit-gujr',
  'fonts-samyak-gujr',
  'fonts-yrsa-rasa',
  'fonts-guru-extra',
  'fonts-lohit-guru',
  'fonts-gubbi',
  'fonts-lohit-knda',
  'fonts-navilu',
  'fonts-lohit-mlym',
  'fonts-samyak-mlym',
  'fonts-smc-anjalioldlipi',
  'fonts-smc-chilanka',
  'fonts-smc-dyuthi',
  'fonts-smc-gayathri',
  'fonts-smc-karumbi',
  'fonts-smc-keraleeyam',
  'fonts-smc-manjari',
  'fonts-smc-meera',
  'fonts-smc-rachana',
  'fonts-smc-raghumalayalamsans',
  'fonts-smc-suruma',
  'fonts-smc-uroob',
  'fonts-lohit-orya',
  'fonts-orya-extra',
  'fonts-lohit-taml',
  'fonts-lohit-taml-classical',
  'fonts-samyak-taml',
  'fonts-lohit-telu',
  'fonts-telu-extra',
  'fonts-teluguvijayam',
  'fonts-lklug-sinhala',
  'fonts-tlwg-garuda-ttf',
  'fonts-tlwg-kinnari-ttf',
  'fonts-tlwg-laksaman-ttf',
  'fonts-tlwg-loma-ttf',
  'fonts-tlwg-mono-ttf',
  'fonts-tlwg-norasi-ttf',
  'fonts-tlwg-purisa-ttf',
  'fonts-tlwg-sawasdee-ttf',
  'fonts-tlwg-typewriter-ttf',
  'fonts-tlwg-typist-ttf',
  'fonts-tlwg-typo-ttf',
  'fonts-tlwg-umpush-ttf',
  'fonts-tlwg-waree-ttf',
  'fonts-lao',
  'fonts-khmeros',
  'fonts-tibetan-machine',
  'fonts-dzongkha',
  'fonts-lg-aboriginal',
  'fonts-mph-2b-damase',
  'fonts-stix',
];
