import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import { pixelTensor, type ImageDataset, type ImageRecord } from '../data/dataset';
import type { EpisodeList, EpisodeSource, EpisodeTensors } from '../data/episodes';
import { normalizeImages } from '../model/preprocess';
import type { VisionTransformer } from '../model/vision-transformer';
import type { FeatureFn } from '../evaluation/episode-accuracy';
import { flattenImages } from '../evaluation/flatten-images';
import { evaluateEpisodeSource, type EvaluateOptions, type EvaluationResult } from '../evaluation/evaluate-episodes';

/** f(x) of every image an episode list uses, computed once: row `rowOf.get(storeIndex)` of `features`. */
export interface FeatureTable {
  rowOf: Map<number, number>;
  features: Float32Array; // [rows, dim]
  dim: number;
}

/**
 * Runs `featureFn` once over every distinct image of `list` (in chunks of batchSize, yielding to
 * the event loop between chunks). A frozen backbone maps each image on its own (eval mode, no
 * batch statistics), so episodes built from these rows classify exactly as episodes built from
 * the images, at a fraction of the forward passes (600 episodes of 80–100 images each draw on a
 * few thousand images). `known`: a table of the same feature function on the same data set (an
 * earlier list's); its rows are kept and only the images it lacks are computed, so a set's 1-shot
 * and 5-shot lists cost one pass over their union. `known` itself is left as it is.
 */
export async function featureTable(
  dataset: ImageDataset,
  list: EpisodeList,
  featureFn: FeatureFn,
  batchSize = 200,
  known: FeatureTable = { rowOf: new Map(), features: new Float32Array(0), dim: 0 },
): Promise<FeatureTable> {
  const missing = new Map<number, ImageRecord>();
  for (const episode of list.episodes) {
    const images = [
      ...episode.supportImages.map((index, i) => [index, episode.supportLabels[i]]),
      ...episode.queryImages.map((index, i) => [index, episode.queryLabels[i]]),
    ];
    for (const [index, label] of images) {
      if (known.rowOf.has(index) || missing.has(index)) continue;
      const record = dataset.imagesOf(episode.classIds[label]).find((r) => r.index === index);
      if (!record)
        throw new ConfigError(
          `featureTable: image ${index} is not an image of class ${episode.classIds[label]} in ${dataset.name}; was the episode list sampled from another build?`,
        );
      missing.set(index, record);
    }
  }
  if (missing.size === 0) return known;
  const ordered = [...missing.values()];
  const first = known.rowOf.size;
  const rowOf = new Map([...known.rowOf, ...ordered.map((r, i): [number, number] => [r.index, first + i])]);
  let features = new Float32Array(0);
  let dim = known.dim;
  for (let start = 0; start < ordered.length; start += batchSize) {
    const chunk = tf.tidy(() => featureFn(normalizeImages(pixelTensor(dataset, ordered.slice(start, start + batchSize)))));
    const values = chunk.dataSync() as Float32Array;
    if (start === 0) {
      if (first > 0 && chunk.shape[1] !== dim) {
        chunk.dispose();
        throw new ConfigError(
          `featureTable: the known table has ${dim}-dimensional features but featureFn gives ${chunk.shape[1]}; was it built with another feature function?`,
        );
      }
      dim = chunk.shape[1];
      features = new Float32Array(rowOf.size * dim);
      features.set(known.features);
    }
    features.set(values, (first + start) * dim);
    chunk.dispose();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { rowOf, features, dim };
}

/**
 * The episodes of `list` with each image replaced by its precomputed feature, as a 1×1×D map
 * ([n, 1, 1, D]); evaluate them with `flattenImages`, which reads the map back as f(x).
 */
export function tableEpisodeSource(list: EpisodeList, table: FeatureTable): EpisodeSource {
  const rows = (images: number[]): tf.Tensor4D => {
    const data = new Float32Array(images.length * table.dim);
    images.forEach((index, i) => {
      const row = table.rowOf.get(index);
      if (row === undefined)
        throw new ConfigError(`tableEpisodeSource: image ${index} is not in the feature table (built from another episode list?)`);
      data.set(table.features.subarray(row * table.dim, (row + 1) * table.dim), i * table.dim);
    });
    return tf.tensor4d(data, [images.length, 1, 1, table.dim]);
  };
  return {
    count: list.episodes.length,
    episode: (i): EpisodeTensors => {
      const e = list.episodes[i];
      return {
        support: rows(e.supportImages),
        supportLabels: [...e.supportLabels],
        query: rows(e.queryImages),
        queryLabels: [...e.queryLabels],
      };
    },
  };
}

/**
 * Prototype (NN) accuracy of a frozen feature function over every episode of `list`, with each
 * image's features computed once (see featureTable). Mean ± 95 % interval over episodes.
 */
export async function evaluateFrozenFeatures(
  dataset: ImageDataset,
  list: EpisodeList,
  featureFn: FeatureFn,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const table = await featureTable(dataset, list, featureFn, options.batchSize);
  return evaluateEpisodeSource(flattenImages, tableEpisodeSource(list, table), options);
}

/** f(x) = the backbone's projected [CLS] feature (all tokens, no adapter). */
export function backboneFeatures(backbone: VisionTransformer): FeatureFn {
  return (images) => backbone.forward(images).features;
}
