import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { episodeImages, flipPatchIndex, imagesByClass, interpolatedEpisode, singleLoraEpisode } from '../../src/meta/surrogate-episodes';
import type { SurrogateSet } from '../../src/surrogate/set';
import { ConfigError, ShapeError } from '../../src/errors';
import { SeededRandom } from '../../src/random/seeded-random';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('cpu');
});

const shape = { ways: 2, shots: 1, queries: 2 };

function set(targets: number[], kept: number[][] | null = null): SurrogateSet {
  // image i is filled with the value i, so gathered rows can be identified
  const images = tf.tensor4d(
    targets.flatMap((_, i) => new Array(2 * 2 * 1).fill(i)),
    [targets.length, 2, 2, 1],
  );
  return { images, targets, keptPatches: kept, teacher: { adapter: null as never, head: { apply: (f) => f } } };
}

describe('surrogate episodes', () => {
  it('single-LoRA episode: support = first K of each class, query = the next Q, labels = teacher classes', () => {
    const s = set([0, 1, 0, 1, 0, 1]);
    const noDraw = () => {
      throw new Error('a class of exactly K + Q images draws nothing');
    };
    const episode = singleLoraEpisode([imagesByClass(s, 0, shape)], 0, shape, noDraw);
    expect(episode.kind).toBe('single');
    expect(episode.teacherSet).toBe(0);
    expect(episode.support.map((r) => r.index)).toEqual([0, 1]);
    expect(episode.supportLabels).toEqual([0, 1]);
    expect(episode.query.map((r) => r.index)).toEqual([2, 4, 3, 5]);
    expect(episode.queryLabels).toEqual([0, 0, 1, 1]);
  });

  it('interpolated episode mixes classes of several sets and relabels them 0..N-1', () => {
    const byClass = [imagesByClass(set([0, 1, 0, 1, 0, 1]), 0, shape), imagesByClass(set([1, 0, 1, 0, 1, 0]), 1, shape)];
    const episode = interpolatedEpisode(byClass, shape, () => [3, 0]); // set 1 class 1, then set 0 class 0
    expect(episode.teacherSet).toBeNull();
    expect(episode.support).toEqual([
      { set: 1, index: 0 },
      { set: 0, index: 0 },
    ]);
    expect(episode.supportLabels).toEqual([0, 1]);
    expect(episode.query).toEqual([
      { set: 1, index: 2 },
      { set: 1, index: 4 },
      { set: 0, index: 2 },
      { set: 0, index: 4 },
    ]);
    const rng = new SeededRandom(3);
    const drawn = interpolatedEpisode(byClass, { ...shape, ways: 4 }, (n, c) => rng.sample(n, c));
    expect(new Set(drawn.support.map((r) => `${r.set}/${r.index}`)).size).toBe(4);
  });

  it('a class with more than K + Q images gives a random K + Q of them per episode (support first)', () => {
    const s = set([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]); // 5 images per class, K + Q = 3
    const byClass = [imagesByClass(s, 0, shape)];
    const episode = singleLoraEpisode(byClass, 0, shape, () => [4, 0, 2]);
    expect(episode.support.map((r) => r.index)).toEqual([8, 9]); // the 5th image of each class
    expect(episode.query.map((r) => r.index)).toEqual([0, 4, 1, 5]);
    const rng = new SeededRandom(5);
    const seen = new Set<number>();
    for (let i = 0; i < 20; i++) singleLoraEpisode(byClass, 0, shape, (n, c) => rng.sample(n, c)).support.forEach((r) => seen.add(r.index));
    expect(seen.size).toBe(10); // over episodes, every image serves
  });

  it('rejects a class with fewer images than K + Q', () => {
    expect(() => imagesByClass(set([0, 1, 0, 1]), 0, shape)).toThrow(ConfigError);
  });

  it('never puts one image in an episode twice: no repeated ref in any episode, a set holding an image twice is refused', () => {
    const sets = [set([0, 1, 0, 1, 0, 1, 0, 1]), set([1, 0, 1, 0, 1, 0, 1, 0])]; // 4 images per class, K + Q = 3
    const byClass = sets.map((s, i) => imagesByClass(s, i, shape));
    const rng = new SeededRandom(9);
    for (let i = 0; i < 50; i++) {
      const episode =
        i % 2 === 0
          ? singleLoraEpisode(byClass, i % 4 === 0 ? 0 : 1, shape, (n, c) => rng.sample(n, c))
          : interpolatedEpisode(byClass, { ...shape, ways: 3 }, (n, c) => rng.sample(n, c));
      const refs = [...episode.support, ...episode.query].map((r) => `${r.set}/${r.index}`);
      expect(new Set(refs).size).toBe(refs.length);
    }
    const twice = { ...set([0, 1, 0, 1, 0, 1]), imageIds: ['a', 'b', 'c', 'd', 'e', 'a'] };
    expect(() => imagesByClass(twice, 2, shape)).toThrow(/surrogate set 2 holds image a twice/);
  });

  it('never draws together two classes of different sets that hold the same image (real images of a shared class)', () => {
    // set 0 class 0 and set 1 class 1 are the same three real images (two LoRAs sharing a class)
    const a = { ...set([0, 1, 0, 1, 0, 1]), imageIds: ['x1', 'y1', 'x2', 'y2', 'x3', 'y3'] };
    const b = { ...set([1, 0, 1, 0, 1, 0]), imageIds: ['x1', 'z1', 'x2', 'z2', 'x3', 'z3'] };
    const byClass = [imagesByClass(a, 0, shape), imagesByClass(b, 1, shape)];
    const ids = [a.imageIds, b.imageIds];
    const draws = [
      [0, 3],
      [1, 3],
    ]; // set 0 class 0 with set 1 class 1 (shared): drawn again
    const episode = interpolatedEpisode(byClass, shape, () => draws.shift()!, ids);
    expect([...episode.support, ...episode.query].map((r) => ids[r.set][r.index])).toEqual(['y1', 'x1', 'y2', 'y3', 'x2', 'x3']);
    const rng = new SeededRandom(4);
    for (let i = 0; i < 30; i++) {
      const drawn = interpolatedEpisode(byClass, { ...shape, ways: 3 }, (n, c) => rng.sample(n, c), ids);
      const seen = [...drawn.support, ...drawn.query].map((r) => ids[r.set][r.index]);
      expect(new Set(seen).size).toBe(seen.length);
    }
    expect(() => interpolatedEpisode(byClass, { ...shape, ways: 4 }, (n, c) => rng.sample(n, c), ids)).toThrow(
      /never 4 surrogate classes without a common image/,
    );
  });

  it('mirrors patch indices under a horizontal flip', () => {
    expect(flipPatchIndex(0, 4)).toBe(3);
    expect(flipPatchIndex(6, 4)).toBe(5); // row 1 col 2 → row 1 col 1
    expect(flipPatchIndex(flipPatchIndex(13, 4), 4)).toBe(13);
  });

  it('gathers episode images in episode order, flipping images and their kept patches', () => {
    const a = set(
      [0, 1, 0, 1, 0, 1],
      [
        [0, 1],
        [1, 2],
        [2, 3],
        [0, 3],
        [1, 3],
        [0, 2],
      ],
    );
    a.images = tf.tensor4d(
      [...Array(6).keys()].flatMap((i) => [i, 10 + i, 20 + i, 30 + i]),
      [6, 2, 2, 1],
    );
    const { images, positions } = episodeImages(
      [a],
      [
        { set: 0, index: 3 },
        { set: 0, index: 0 },
      ],
      [false, true],
      2,
    );
    expect(Array.from(images.dataSync())).toEqual([3, 13, 23, 33, 10, 0, 30, 20]);
    expect(positions!.arraySync()).toEqual([
      [0, 3],
      [1, 0],
    ]);
  });

  it('refuses to mix sparse sets that keep different numbers of patches', () => {
    const a = set([0, 1, 0, 1, 0, 1], [[0], [1], [2], [3], [0], [1]]);
    const b = set(
      [0, 1, 0, 1, 0, 1],
      [
        [0, 1],
        [1, 2],
        [2, 3],
        [0, 3],
        [1, 3],
        [0, 2],
      ],
    );
    expect(() =>
      episodeImages(
        [a, b],
        [
          { set: 0, index: 0 },
          { set: 1, index: 0 },
        ],
        [false, false],
        2,
      ),
    ).toThrow(ShapeError);
  });
});
