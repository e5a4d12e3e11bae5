import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  episodeSource,
  episodeTensors,
  loadEmojiDataset,
  loadEpisodes,
  sampleEpisodes,
  saveEpisodes,
  type EpisodeList,
  type StoreDataset,
} from '../../src/data';
import { ConfigError, FileFormatError } from '../../src/errors';
import { evaluateEpisodeSource, flattenImages } from '../../src/evaluation';
import { CLIP_MEAN, CLIP_STD, normalizeImages } from '../../src/model/preprocess';
import { syntheticDataset } from './synthetic';
import { useTestBackend } from '../test-backend';

let emoji: StoreDataset;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'episodes-test-'));

beforeAll(async () => {
  await useTestBackend('wasm');
  // 4 emoji of every category: real artists, all three splits, shared through the default cache
  emoji = await loadEmojiDataset({ limit: 4 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const OPTIONS = { ways: 5, shots: 1, queries: 5, count: 20, seed: 7 };

describe('sampleEpisodes', () => {
  it('gives the same episodes for the same seed and different ones for another seed', () => {
    const a = sampleEpisodes(emoji, 'base', OPTIONS);
    const b = sampleEpisodes(emoji, 'base', OPTIONS);
    const c = sampleEpisodes(emoji, 'base', { ...OPTIONS, seed: 8 });
    expect(b).toEqual(a);
    expect(c.episodes).not.toEqual(a.episodes);
    expect(a.episodes).toHaveLength(20);
  });

  it('draws N classes of the split with K support and disjoint queries of the same class', () => {
    const list = sampleEpisodes(emoji, 'novel', { ...OPTIONS, shots: 2 });
    const novel = new Set(emoji.classes.filter((c) => c.split === 'novel').map((c) => c.id));
    for (const e of list.episodes) {
      expect(new Set(e.classIds).size).toBe(5);
      for (const id of e.classIds) expect(novel.has(id)).toBe(true);
      expect(e.supportImages).toHaveLength(10);
      expect(e.queryImages.filter((i) => e.supportImages.includes(i))).toEqual([]);
      e.queryImages.forEach((image, i) => {
        expect(emoji.imagesOf(e.classIds[e.queryLabels[i]]).some((r) => r.index === image)).toBe(true);
      });
    }
  });

  it('gives min(Q, images − K) queries per class and skips classes with fewer than K + 1 images', () => {
    const dataset = syntheticDataset([3, 4, 8, 2, 10]); // c3 has 2 images: too few for K = 2
    const list = sampleEpisodes(dataset, 'novel', { ways: 4, shots: 2, queries: 5, count: 10, seed: 1 });
    expect(list.skippedClasses).toEqual(['c3']);
    expect(list.queryRule).toMatch(/min\(Q, images of the class - K\)/);
    for (const e of list.episodes) {
      expect(e.classIds).not.toContain('c3');
      const expected = e.classIds.map((id) => Math.min(5, { c0: 3, c1: 4, c2: 8, c4: 10 }[id]! - 2));
      expect(e.queriesPerClass).toEqual(expected);
      expect(e.queryImages).toHaveLength(expected.reduce((a, b) => a + b, 0));
    }
  });

  it('rejects too few classes and bad options with a ConfigError', () => {
    const dataset = syntheticDataset([3, 3, 1]);
    expect(() => sampleEpisodes(dataset, 'novel', { ways: 3, shots: 1, queries: 1, count: 1, seed: 1 })).toThrow(
      /2 classes with at least K \+ 1 = 2 images, fewer than N = 3/,
    );
    expect(() => sampleEpisodes(dataset, 'novel', { ways: 2, shots: 0, queries: 1, count: 1, seed: 1 })).toThrow(ConfigError);
    expect(() => sampleEpisodes(dataset, 'novel', { ways: 2, shots: 1, queries: 1, count: 1, seed: -1 })).toThrow(/seed/);
  });

  it('with disjointSources draws support and query from disjoint artist sets', () => {
    const list = sampleEpisodes(emoji, 'novel', { ...OPTIONS, disjointSources: true });
    const sourceOf = new Map(emoji.classes.flatMap((c) => emoji.imagesOf(c.id).map((r) => [r.index, r.source] as const)));
    let queries = 0;
    for (const e of list.episodes) {
      const supportSources = new Set(e.supportImages.map((i) => sourceOf.get(i)!));
      const querySources = new Set(e.queryImages.map((i) => sourceOf.get(i)!));
      expect([...supportSources].filter((s) => querySources.has(s))).toEqual([]);
      for (const s of supportSources) expect(e.supportSources).toContain(s);
      for (const s of querySources) expect(e.querySources).toContain(s);
      queries += e.queryImages.length;
    }
    expect(queries).toBeGreaterThan(0);
    // without the option, support and query share artists in some episode
    const mixed = sampleEpisodes(emoji, 'novel', OPTIONS).episodes.some((e) => {
      const support = new Set(e.supportImages.map((i) => sourceOf.get(i)));
      return e.queryImages.some((i) => support.has(sourceOf.get(i)));
    });
    expect(mixed).toBe(true);
  });

  it('refuses disjointSources with a single source', () => {
    const single = {
      ...syntheticDataset([4, 4]),
      imagesOf: (id: string) =>
        syntheticDataset([4, 4])
          .imagesOf(id)
          .map((r) => ({ ...r, source: 'only' })),
    };
    expect(() => sampleEpisodes(single, 'novel', { ways: 2, shots: 1, queries: 1, count: 1, seed: 1, disjointSources: true })).toThrow(
      /at least 2 sources/,
    );
  });
});

describe('episode files', () => {
  const list = () => sampleEpisodes(emoji, 'novel', { ...OPTIONS, count: 3, disjointSources: true });
  const write = (name: string, value: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
    return file;
  };

  it('round-trips through JSON', () => {
    const original = list();
    const file = path.join(dir, 'episodes.json');
    saveEpisodes(file, original);
    expect(loadEpisodes(file)).toEqual(original);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  const broken: [string, (l: EpisodeList) => unknown, RegExp][] = [
    ['wrong format', (l) => ({ ...l, format: 'other/1' }), /format must be "lora-recycle-episodes\/1"/],
    ['missing seed', (l) => ({ ...l, seed: undefined }), /seed must be an integer/],
    ['bad split', (l) => ({ ...l, split: 'train' }), /split must be one of/],
    ['no episodes', (l) => ({ ...l, episodes: [] }), /episodes must be a non-empty array/],
    [
      'label out of range',
      (l) => {
        l.episodes[1].supportLabels[0] = 9;
        return l;
      },
      /episodes\[1\]\.supportLabels\[0\] must be an integer in 0\.\.4/,
    ],
    [
      'short support',
      (l) => {
        l.episodes[0].supportImages.pop();
        return l;
      },
      /episodes\[0\]: support must hold N·K = 5/,
    ],
    [
      'image in support and query',
      (l) => {
        l.episodes[2].queryImages[0] = l.episodes[2].supportImages[0];
        return l;
      },
      /episodes\[2\]: image \d+ is in both support and query/,
    ],
    [
      'query count disagrees',
      (l) => {
        const q = l.episodes[0].queriesPerClass;
        q[0] = q[0] > 1 ? q[0] - 1 : 2;
        return l;
      },
      /class 0 has \d+ query images, its queriesPerClass says/,
    ],
    [
      'non-integer image',
      (l) => {
        l.episodes[0].queryImages[0] = 1.5;
        return l;
      },
      /episodes\[0\]\.queryImages\[0\] must be an integer/,
    ],
    [
      'shared source',
      (l) => {
        l.episodes[0].querySources = [...l.episodes[0].querySources!, l.episodes[0].supportSources![0]];
        return l;
      },
      /is in both supportSources and querySources/,
    ],
  ];
  for (const [what, corrupt, message] of broken) {
    it(`rejects an episode list with ${what}`, () => {
      const file = write(`${what}.json`, corrupt(list()));
      expect(() => loadEpisodes(file)).toThrow(FileFormatError);
      expect(() => loadEpisodes(file)).toThrow(message);
    });
  }

  it('rejects text that is not JSON, naming the file', () => {
    const file = write('truncated.json', JSON.stringify(list()).slice(0, 200));
    expect(() => loadEpisodes(file)).toThrow(/truncated\.json: not a readable JSON episode list/);
  });

  it('does not save an invalid list', () => {
    const bad = list();
    bad.episodes[0].classIds = ['a', 'a', 'b', 'c', 'd'];
    const file = path.join(dir, 'never.json');
    expect(() => saveEpisodes(file, bad)).toThrow(/5 distinct class ids/);
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('episode tensors', () => {
  it("builds support and query tensors with their labels, the caller's transform applied to pixels in [0, 1]", () => {
    const dataset = syntheticDataset([4, 5, 6]);
    const [episode] = sampleEpisodes(dataset, 'novel', { ways: 3, shots: 2, queries: 2, count: 1, seed: 3 }).episodes;
    const first = episode.supportImages[0] / 255; // synthetic image = its index / 255 everywhere
    const pixels = episodeTensors(dataset, episode, (x) => x);
    expect(pixels.support.dataSync()[0]).toBeCloseTo(first, 6);
    const t = episodeTensors(dataset, episode, normalizeImages);
    expect(t.support.shape).toEqual([6, 4, 4, 3]);
    expect(t.query.shape).toEqual([6, 4, 4, 3]);
    expect(t.supportLabels).toEqual(episode.supportLabels);
    expect(t.queryLabels).toEqual(episode.queryLabels);
    const values = t.support.dataSync();
    for (let c = 0; c < 3; c++) expect(values[c]).toBeCloseTo((first - CLIP_MEAN[c]) / CLIP_STD[c], 5);
    tf.dispose([pixels.support, pixels.query, t.support, t.query]);
  });

  it('rejects an episode that does not belong to the dataset', () => {
    const dataset = syntheticDataset([4, 5, 6]);
    const [episode] = sampleEpisodes(dataset, 'novel', { ways: 3, shots: 1, queries: 1, count: 1, seed: 3 }).episodes;
    episode.supportImages[0] = 999;
    expect(() => episodeTensors(dataset, episode, normalizeImages)).toThrow(/image 999 is not an image of class/);
    const list = sampleEpisodes(emoji, 'novel', { ...OPTIONS, count: 1 });
    expect(() => episodeSource(dataset, list, normalizeImages)).toThrow(/sampled from emoji-32-limit4 at 32px, not synthetic/);
  });

  it('runs evaluateEpisodeSource on a fixed list and leaves no tensors behind', async () => {
    const list = sampleEpisodes(emoji, 'novel', { ...OPTIONS, count: 6 });
    const source = episodeSource(emoji, list, normalizeImages);
    const before = tf.memory().numTensors;
    const first = await evaluateEpisodeSource(flattenImages, source);
    const second = await evaluateEpisodeSource(flattenImages, source);
    expect(tf.memory().numTensors).toBe(before);
    expect(first.episodes).toBe(6);
    expect(second.accuracies).toEqual(first.accuracies);
    expect(first.mean).toBeGreaterThan(1 / 5); // raw pixels beat chance on emoji
  });
});
