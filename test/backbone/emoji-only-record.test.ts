import * as fs from 'fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { shippedBackboneFile } from '../../src/backbone';
import { classesOf, loadEmojiDataset, loadGlyphDomainDataset, type StoreDataset } from '../../src/data';

/**
 * The shipped 'emoji-only' backbone (assets/backbone-emoji-only, docs/method.md §0) saw domain A
 * only: emoji pretrain classes, no glyph set. Domain B (glyph-domain) is new to it, by class id and
 * by character: no emoji it trained on is drawn from a code point that is a class of B.
 */
interface RecordSet {
  dataset: string;
  checksum: string;
  split: string;
  classes: number;
  classIds: string[];
}
const recordFile = shippedBackboneFile('emoji-only').replace(/tiny-vit\.safetensors$/, 'training-record.json');
const record = JSON.parse(fs.readFileSync(recordFile, 'utf8')) as {
  data: { sets: RecordSet[]; classes: number; neverSeen: string };
  recipe: { sets: string };
};

/** The code points an emoji class id names ("emoji:1f1fa-1f1f8" → [0x1f1fa, 0x1f1f8]), without joiners and variation selectors. */
const codePoints = (id: string) =>
  id
    .slice('emoji:'.length)
    .split('-')
    .map((h) => Number.parseInt(h, 16))
    .filter((c) => c !== 0x200d && c !== 0xfe0f);

describe("the emoji-only backbone's training record", () => {
  let emoji: StoreDataset;
  let domainB: StoreDataset;
  beforeAll(async () => {
    emoji = await loadEmojiDataset();
    domainB = await loadGlyphDomainDataset();
  }, 600_000);

  it('trained on the emoji pretrain classes of the data built now, and on no other set', () => {
    expect(record.recipe.sets).toBe('emoji');
    expect(record.data.sets.map((s) => [s.dataset, s.split])).toEqual([[emoji.name, 'pretrain']]);
    expect(record.data.sets[0].checksum).toBe(emoji.checksum);
    expect(record.data.sets[0].classIds).toEqual(
      classesOf(emoji, 'pretrain')
        .map((c) => c.id)
        .sort(),
    );
    expect(record.data.classes).toBe(record.data.sets[0].classIds.length);
    expect(record.data.neverSeen).toMatch(/any glyph set \(glyphs, domain B\)/);
  });

  it('holds no class of domain B, by id or by the character an emoji is drawn from', () => {
    const seen = record.data.sets.flatMap((s) => s.classIds);
    const bIds = new Set(domainB.classes.map((c) => c.id));
    expect(seen.filter((id) => bIds.has(id))).toEqual([]);
    const bCodePoints = new Set(domainB.classes.map((c) => Number.parseInt(c.id.slice('glyph:'.length), 16)));
    expect(bCodePoints.size).toBe(domainB.classes.length);
    expect(seen.filter((id) => codePoints(id).some((c) => bCodePoints.has(c)))).toEqual([]);
  });
});
