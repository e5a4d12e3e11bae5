import type { ClassInfo } from './dataset';

/**
 * Concepts shared across splits although no class id is: the splits keep class ids apart, not the
 * things they depict. Found from the class names (emoji: the Unicode CLDR name after the
 * character; glyphs: the character; MNIST: "digit N"), for the data card and the backbone's record.
 */

/** Lower-case words of a class name: letters only, so an emoji's own character and punctuation drop out. */
export function nameWords(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[^\p{L}]+/u)
    .filter((w) => w.length > 0);
}

/** A class of the seen set whose name holds `noun`, the whole name of the `unseen` classes listed. */
export interface NounOverlap {
  seen: ClassInfo;
  noun: string;
  unseen: ClassInfo[];
}

/**
 * Classes of `seen` whose name has, as a word, the whole one-word name of a class of `unseen`
 * ("grinning cat" and "cat", "see-no-evil monkey" and "monkey"). One-word names of the unseen set
 * are its nouns (animals, foods, plants), so words such as "face", "with" or colours never match.
 * Sorted by noun, then by the order of `seen`.
 */
export function sharedNouns(seen: readonly ClassInfo[], unseen: readonly ClassInfo[]): NounOverlap[] {
  const nouns = new Map<string, ClassInfo[]>();
  for (const c of unseen) {
    const words = nameWords(c.name);
    if (words.length === 1) nouns.set(words[0], [...(nouns.get(words[0]) ?? []), c]);
  }
  const overlaps: NounOverlap[] = [];
  for (const c of seen) {
    for (const noun of new Set(nameWords(c.name))) {
      const classes = nouns.get(noun);
      if (classes) overlaps.push({ seen: c, noun, unseen: classes });
    }
  }
  return overlaps.sort((a, b) => (a.noun < b.noun ? -1 : a.noun > b.noun ? 1 : 0));
}

/**
 * Pairs of a digits class (MNIST's "digit N") and the glyph class of the same digit character
 * (named "N U+003N"): the same concept drawn by hand and in fonts. Digits classes without a glyph twin are left out.
 */
export function digitGlyphTwins(digits: readonly ClassInfo[], glyphs: readonly ClassInfo[]): { digit: ClassInfo; glyph: ClassInfo }[] {
  const byCharacter = new Map(glyphs.map((g) => [g.name.split(' ')[0], g]));
  return digits.flatMap((digit) => {
    const match = /^digit (\d)$/.exec(digit.name);
    const glyph = match ? byCharacter.get(match[1]) : undefined;
    return glyph ? [{ digit, glyph }] : [];
  });
}
