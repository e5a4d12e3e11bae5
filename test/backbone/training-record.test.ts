import * as fs from 'fs';
import * as path from 'path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAllData, classesOf, digitGlyphTwins, sharedNouns, type ClassInfo, type StoreDataset } from '../../src/data';
import { assetPath } from '../../src/paths';

/**
 * assets/backbone/training-record.json says which classes the shipped backbone was trained on
 * (data.sets[].classIds, written by `npm run train:backbone -- --record-classes`) and which concepts
 * it saw under other class ids (data.conceptOverlaps, docs/data-card.md "Concept overlaps").
 */
interface RecordSet {
  dataset: string;
  checksum: string;
  split: string;
  classes: number;
  classIds: string[];
}
interface TrainingRecord {
  data: { sets: RecordSet[]; classes: number; neverSeen: string; conceptOverlaps: string };
}

const record = JSON.parse(fs.readFileSync(assetPath('backbone', 'training-record.json'), 'utf8')) as TrainingRecord;
const card = fs.readFileSync(path.resolve(__dirname, '../../docs/data-card.md'), 'utf8');
const recorded = (dataset: string) => new Set(record.data.sets.filter((s) => s.dataset === dataset).flatMap((s) => s.classIds));

describe('the backbone training record', () => {
  it("lists each set's trained class ids, sorted, unique, as many as its class count", () => {
    for (const set of record.data.sets) {
      expect(set.classIds.length).toBe(set.classes);
      expect(new Set(set.classIds).size).toBe(set.classIds.length);
      expect(set.classIds).toEqual([...set.classIds].sort());
    }
    expect(record.data.sets.reduce((n, s) => n + s.classIds.length, 0)).toBe(record.data.classes);
  });

  it("says never seen by class id only, and names MNIST's digits as seen in concept", () => {
    expect(record.data.neverSeen).toMatch(/^no class id of: .*MNIST/);
    expect(record.data.neverSeen).toMatch(/not unseen in concept/);
    expect(record.data.conceptOverlaps).toMatch(/MNIST's 10 digit classes are the glyph base digits 0123456789/);
  });
});

// The full default sets, from the shared default cache (built on first use, ~1 min when cold).
describe('the recorded classes against the data built now', () => {
  let data: Record<string, StoreDataset>;
  beforeAll(async () => {
    const built = await buildAllData();
    data = Object.fromEntries(built.datasets.map((d) => [d.name.replace(/-\d+$/, ''), d]));
  }, 300_000);

  it('is the data the backbone was trained on: same checksums, and the ids are the emoji pretrain and glyph base classes', () => {
    const [emoji, glyphs] = record.data.sets;
    expect([emoji.dataset, emoji.split, glyphs.dataset, glyphs.split]).toEqual([data.emoji.name, 'pretrain', data.glyphs.name, 'base']);
    expect(emoji.checksum).toBe(data.emoji.checksum);
    expect(glyphs.checksum).toBe(data.glyphs.checksum);
    const ids = (classes: ClassInfo[]) => classes.map((c) => c.id).sort();
    expect(emoji.classIds).toEqual(ids(classesOf(data.emoji, 'pretrain')));
    expect(glyphs.classIds).toEqual(ids(classesOf(data.glyphs, 'base')));
  });

  it('holds no class id of a set the project treats as never seen by the backbone (same dataset, same id)', () => {
    const all = (dataset: StoreDataset | undefined) => dataset?.classes ?? [];
    const neverSeen: [StoreDataset | undefined, readonly ClassInfo[]][] = [
      [data.emoji, data.emoji.classes.filter((c) => ['base', 'validation', 'novel'].includes(c.split))],
      [data.glyphs, classesOf(data.glyphs, 'test')],
      [data.mnist, all(data.mnist)],
      [data['fashion-mnist'], all(data['fashion-mnist'])], // optional data: checked when installed
    ];
    expect(neverSeen.slice(0, 3).map(([, classes]) => classes.length > 0)).toEqual([true, true, true]);
    for (const [dataset, classes] of neverSeen) {
      if (!dataset) continue;
      const seen = recorded(dataset.name);
      expect(classes.filter((c) => seen.has(c.id)).map((c) => `${dataset.name} ${c.id}`)).toEqual([]);
    }
  });

  it('finds the concept overlaps that the record and the data card state', () => {
    const seenGlyphs = recorded(data.glyphs.name);
    const twins = digitGlyphTwins(data.mnist.classes, data.glyphs.classes).filter((t) => seenGlyphs.has(t.glyph.id));
    expect(twins.map((t) => [t.digit.id, t.glyph.id])).toEqual(Array.from({ length: 10 }, (_, d) => [`mnist:${d}`, `glyph:003${d}`]));
    expect(card).toContain(`${twins.length} of MNIST's 10 classes are glyph base characters`);

    const seenEmoji = recorded(data.emoji.name);
    const overlaps = sharedNouns(
      data.emoji.classes.filter((c) => seenEmoji.has(c.id)),
      classesOf(data.emoji, 'novel'),
    );
    const nouns = [...new Set(overlaps.map((o) => o.noun))];
    expect(nouns).toEqual(expect.arrayContaining(['cat', 'monkey']));
    expect(overlaps.map((o) => o.seen.name)).toEqual(expect.arrayContaining(['😺 grinning cat', '🙈 see-no-evil monkey']));
    expect(card).toContain(
      `${overlaps.length} of the ${seenEmoji.size} pretrain emoji share a noun with the novel split (${nouns.length} nouns: ${nouns.join(', ')})`,
    );
    for (const o of overlaps) expect(card).toContain(o.seen.name);
    expect(record.data.conceptOverlaps).toContain(`${overlaps.length} emoji pretrain classes share a noun with a novel emoji's name`);
  });
});
