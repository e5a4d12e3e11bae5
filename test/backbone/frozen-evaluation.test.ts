import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { backboneFeatures, evaluateFrozenFeatures, featureTable } from '../../src/backbone';
import type { ImageDataset } from '../../src/data/dataset';
import { episodeSource, sampleEpisodes } from '../../src/data/episodes';
import { ConfigError } from '../../src/errors';
import { evaluateEpisodeSource, flattenImages, type FeatureFn } from '../../src/evaluation';
import { normalizeImages, VisionTransformer, type ViTConfig } from '../../src/model';
import { SeededRandom } from '../../src/random/seeded-random';
import { syntheticDataset } from '../data/synthetic';
import { useTestBackend } from '../test-backend';

const SMALL: ViTConfig = {
  imageSize: 8,
  patchSize: 4,
  channels: 3,
  width: 16,
  depth: 2,
  heads: 2,
  mlpWidth: 32,
  projectionDim: 8,
  layerNormEps: 1e-5,
};

/** 12 classes of 6 images; each image is seeded noise around a class colour, so classes differ but overlap. */
function noisyDataset(): ImageDataset {
  const base = syntheticDataset(Array(12).fill(6), 'novel', 8);
  return {
    ...base,
    pixels(record) {
      const random = new SeededRandom(record.index + 1);
      const classShade = Number(record.classId.slice(1)) / 12;
      return Float32Array.from({ length: 8 * 8 * 3 }, () => Math.min(1, Math.max(0, classShade + random.uniform(-0.4, 0.4))));
    },
  };
}

beforeAll(async () => {
  await useTestBackend('wasm');
});

describe('evaluateFrozenFeatures', () => {
  it('gives the same per-episode accuracies as running the feature function on every episode', async () => {
    const dataset = noisyDataset();
    const list = sampleEpisodes(dataset, 'novel', { ways: 5, shots: 1, queries: 3, count: 12, seed: 4 });
    const vit = VisionTransformer.random(SMALL, 3);
    for (const featureFn of [backboneFeatures(vit), flattenImages]) {
      const direct = await evaluateEpisodeSource(featureFn, episodeSource(dataset, list, normalizeImages));
      const cached = await evaluateFrozenFeatures(dataset, list, featureFn, { batchSize: 7 });
      expect(cached.accuracies).toEqual(direct.accuracies);
      expect(cached.mean).toBeCloseTo(direct.mean, 12);
    }
    // not a degenerate comparison: episodes differ in accuracy
    const direct = await evaluateEpisodeSource(backboneFeatures(vit), episodeSource(dataset, list, normalizeImages));
    expect(new Set(direct.accuracies).size).toBeGreaterThan(1);
    vit.dispose();
  });

  it('runs the feature function once per distinct image and leaves no tensors behind', async () => {
    const dataset = noisyDataset();
    const list = sampleEpisodes(dataset, 'novel', { ways: 5, shots: 2, queries: 2, count: 20, seed: 9 });
    const distinct = new Set(list.episodes.flatMap((e) => [...e.supportImages, ...e.queryImages]));
    let imagesSeen = 0;
    const counting: FeatureFn = (images) => {
      imagesSeen += images.shape[0];
      return flattenImages(images);
    };
    const before = tf.memory().numTensors;
    const table = await featureTable(dataset, list, counting, 10);
    expect(imagesSeen).toBe(distinct.size);
    expect(table.rowOf.size).toBe(distinct.size);
    expect(table.dim).toBe(8 * 8 * 3);
    await evaluateFrozenFeatures(dataset, list, flattenImages);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('extends a known table: only the images a second list adds are computed, and it classifies that list as a fresh table does', async () => {
    const dataset = noisyDataset();
    const oneShot = sampleEpisodes(dataset, 'novel', { ways: 5, shots: 1, queries: 2, count: 6, seed: 3 });
    const fiveShot = sampleEpisodes(dataset, 'novel', { ways: 5, shots: 5, queries: 1, count: 6, seed: 5 });
    const imagesOf = (list: typeof oneShot) => new Set(list.episodes.flatMap((e) => [...e.supportImages, ...e.queryImages]));
    const first = imagesOf(oneShot);
    const added = [...imagesOf(fiveShot)].filter((index) => !first.has(index));
    expect(added.length).toBeGreaterThan(0); // the second list does draw new images
    let imagesSeen = 0;
    const counting: FeatureFn = (images) => {
      imagesSeen += images.shape[0];
      return flattenImages(images);
    };
    const known = await featureTable(dataset, oneShot, counting, 4);
    const knownRows = new Map(known.rowOf);
    imagesSeen = 0;
    const extended = await featureTable(dataset, fiveShot, counting, 4, known);
    expect(imagesSeen).toBe(added.length);
    expect(extended.rowOf.size).toBe(first.size + added.length);
    expect(known.rowOf).toEqual(knownRows); // the known table is left as it was
    const fresh = await featureTable(dataset, fiveShot, flattenImages);
    for (const [index, row] of fresh.rowOf) {
      const at = extended.rowOf.get(index)!;
      expect(extended.features.subarray(at * extended.dim, (at + 1) * extended.dim)).toEqual(
        fresh.features.subarray(row * fresh.dim, (row + 1) * fresh.dim),
      );
    }
    imagesSeen = 0;
    expect(await featureTable(dataset, oneShot, counting, 4, extended)).toBe(extended); // nothing new: nothing computed
    expect(imagesSeen).toBe(0);
  });

  it('refuses to extend a table whose features have another width', async () => {
    const dataset = noisyDataset();
    const oneShot = sampleEpisodes(dataset, 'novel', { ways: 5, shots: 1, queries: 1, count: 2, seed: 1 });
    const fiveShot = sampleEpisodes(dataset, 'novel', { ways: 5, shots: 5, queries: 1, count: 2, seed: 2 });
    const before = tf.memory().numTensors;
    const known = await featureTable(dataset, oneShot, flattenImages);
    const narrower: FeatureFn = (images) => tf.tidy(() => flattenImages(images).slice([0, 0], [-1, 4]));
    await expect(featureTable(dataset, fiveShot, narrower, 200, known)).rejects.toThrow(
      /known table has 192-dimensional features but featureFn gives 4/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects an episode list that does not belong to the dataset', async () => {
    const dataset = noisyDataset();
    const list = sampleEpisodes(dataset, 'novel', { ways: 5, shots: 1, queries: 1, count: 2, seed: 1 });
    list.episodes[0].supportImages[0] = 10_000;
    await expect(featureTable(dataset, list, flattenImages)).rejects.toThrow(ConfigError);
    await expect(featureTable(dataset, list, flattenImages)).rejects.toThrow(/image 10000 is not an image of class/);
  });
});
