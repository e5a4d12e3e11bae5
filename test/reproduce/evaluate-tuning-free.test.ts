import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FeatureTable } from '../../src/backbone';
import { episodeSource, sampleEpisodes } from '../../src/data/episodes';
import { normalizeImages } from '../../src/model/preprocess';
import { VisionTransformer } from '../../src/model';
import type { RunConfig } from '../../src/reproduce/config';
import { evaluateTuningFree, prototypeAccuracy, type TuningFreeRow } from '../../src/reproduce/stages';
import { pipelineEpisodes } from '../../src/reproduce/wiring';
import { syntheticDataset } from '../data/synthetic';
import { ZOO_TEST_VIT } from '../model/tiny-config';
import { useTestBackend } from '../test-backend';

const CONFIG = { metaTraining: { distance: 'euclidean' } } as RunConfig;
const SPEC = { loader: 'emoji' } as const; // only recorded as the episodes' origin here

beforeAll(async () => {
  await useTestBackend('wasm');
});

/** The backbone with a count of the images its forward pass has seen. */
function countingBackbone(): { backbone: VisionTransformer; seen: () => number; reset: () => void } {
  const backbone = VisionTransformer.random(ZOO_TEST_VIT, 5);
  const forward = backbone.forward.bind(backbone);
  let images = 0;
  backbone.forward = ((x: tf.Tensor4D, options?: Parameters<VisionTransformer['forward']>[1]) => {
    images += x.shape[0];
    return forward(x, options);
  }) as VisionTransformer['forward'];
  return { backbone, seen: () => images, reset: () => (images = 0) };
}

describe('evaluateTuningFree across the lists of one data set (the 1-shot, then the 5-shot block)', () => {
  const data = syntheticDataset(Array(12).fill(8), 'novel', 8);
  const oneShot = sampleEpisodes(data, 'novel', { ways: 5, shots: 1, queries: 2, count: 8, seed: 1 });
  const fiveShot = sampleEpisodes(data, 'novel', { ways: 5, shots: 5, queries: 2, count: 8, seed: 2 });
  const distinct = (lists: (typeof oneShot)[]) =>
    new Set(lists.flatMap((l) => l.episodes.flatMap((e) => [...e.supportImages, ...e.queryImages]))).size;
  const rows: TuningFreeRow[] = [{ method: 'nn', adapter: null, scorer: 'nn' }];

  it("computes a row's features of an image once for both lists when they share the data set's tables, with the accuracies of separate tables", async () => {
    const { backbone, seen, reset } = countingBackbone();
    const tables = new WeakMap<object, FeatureTable>();
    const shared = [
      ...(await evaluateTuningFree(backbone, rows, pipelineEpisodes(data, SPEC, oneShot, tables), CONFIG, {})),
      ...(await evaluateTuningFree(backbone, rows, pipelineEpisodes(data, SPEC, fiveShot, tables), CONFIG, {})),
    ];
    expect(seen()).toBe(distinct([oneShot, fiveShot]));
    reset();
    const before = tf.memory().numTensors;
    const separate = [
      ...(await evaluateTuningFree(backbone, rows, pipelineEpisodes(data, SPEC, oneShot), CONFIG, {})),
      ...(await evaluateTuningFree(backbone, rows, pipelineEpisodes(data, SPEC, fiveShot), CONFIG, {})),
    ];
    expect(seen()).toBe(distinct([oneShot]) + distinct([fiveShot])); // more than the union: the lists overlap
    expect(seen()).toBeGreaterThan(distinct([oneShot, fiveShot]));
    expect(shared.map((r) => r.accuracies)).toEqual(separate.map((r) => r.accuracies));
    expect(tf.memory().numTensors).toBe(before);
    backbone.dispose();
  });

  it('keeps rows apart: another row object on the same tables computes its own features', async () => {
    const { backbone, seen } = countingBackbone();
    const tables = new WeakMap<object, FeatureTable>();
    await evaluateTuningFree(backbone, rows, pipelineEpisodes(data, SPEC, oneShot, tables), CONFIG, {});
    await evaluateTuningFree(backbone, [{ ...rows[0] }], pipelineEpisodes(data, SPEC, oneShot, tables), CONFIG, {});
    expect(seen()).toBe(2 * distinct([oneShot]));
    backbone.dispose();
  });
});

describe('prototypeAccuracy (the validation that selects a meta-LoRA)', () => {
  it('scores each distinct image once per call, with the accuracy of the episode-by-episode path, and keeps nothing between calls', async () => {
    const data = syntheticDataset(Array(10).fill(6), 'validation', 8);
    const list = sampleEpisodes(data, 'validation', { ways: 5, shots: 1, queries: 3, count: 10, seed: 4 });
    const distinct = new Set(list.episodes.flatMap((e) => [...e.supportImages, ...e.queryImages])).size;
    const draws = list.episodes.length * 5 * 4;
    expect(distinct).toBeLessThan(draws);
    const { backbone, seen, reset } = countingBackbone();
    const before = tf.memory().numTensors;
    const perEpisode = await prototypeAccuracy(backbone, null, episodeSource(data, list, normalizeImages), 'euclidean');
    expect(seen()).toBe(draws);
    reset();
    const source = pipelineEpisodes(data, SPEC, list);
    const tabled = await prototypeAccuracy(backbone, null, source, 'euclidean');
    expect(seen()).toBe(distinct);
    expect(tabled).toBe(perEpisode);
    await prototypeAccuracy(backbone, null, source, 'euclidean');
    expect(seen()).toBe(2 * distinct); // a second call (a later validation, another adapter state) computes afresh
    expect(tf.memory().numTensors).toBe(before);
    backbone.dispose();
  });
});
