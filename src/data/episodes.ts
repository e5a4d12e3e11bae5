import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import { SeededRandom } from '../random/seeded-random';
import { classesOf, pixelTensor, SPLITS, type ImageDataset, type ImageRecord, type ImageTransform, type Split } from './dataset';

export interface EpisodeOptions {
  ways: number; // N classes per episode
  shots: number; // K support images per class
  queries: number; // Q query images per class (at most; see sampleEpisodes)
  count: number; // episodes to draw
  seed: number; // integer in 0..2³²−1, for SeededRandom
  /** Support and query of an episode come from disjoint sets of sources (artists, fonts). */
  disjointSources?: boolean;
}

/**
 * One N-way K-shot episode as plain data. Label i is the class classIds[i]; images are the
 * `index` of an ImageRecord of that class (its row in the dataset's store). Support and query are
 * class-major: all images of label 0, then label 1, ...
 */
export interface Episode {
  classIds: string[]; // [N]
  supportImages: number[]; // [N·K]
  supportLabels: number[]; // [N·K] in 0..N−1
  queryImages: number[]; // [Σ queriesPerClass]
  queryLabels: number[];
  queriesPerClass: number[]; // [N], each min(Q, available − K) (see sampleEpisodes)
  supportSources?: string[]; // with disjointSources: the sources support was drawn from
  querySources?: string[]; // ... and the disjoint ones query was drawn from
}

/** A fixed episode list, saved as JSON so every method is compared on identical episodes. */
export interface EpisodeList {
  format: 'lora-recycle-episodes/1';
  dataset: string; // ImageDataset.name
  split: Split;
  imageSize: number;
  ways: number;
  shots: number;
  queries: number; // requested Q; an episode's actual counts are its queriesPerClass
  seed: number;
  disjointSources: boolean;
  /** The rule behind queriesPerClass and skippedClasses, spelled out for readers of the file. */
  queryRule: string;
  skippedClasses: string[]; // classes of the split with fewer than K + 1 images
  episodes: Episode[];
}

const FORMAT = 'lora-recycle-episodes/1';
const QUERY_RULE =
  'queries per class = min(Q, images of the class - K); classes with fewer than K + 1 images are skipped' +
  '; with disjointSources, support comes from one half of the sources and query from the other, and a class takes part' +
  ' only if it has K images in the support half and 1 in the query half';

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`sampleEpisodes: ${name} must be a positive integer, found ${String(value)}`);
  }
  return value;
}

function isSeed(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

/**
 * Draws `count` N-way K-shot episodes from the classes of `split`, seeded (SeededRandom(seed)):
 * the same dataset, split, options and seed give the same episodes.
 *
 * Few images per class: emoji classes have at most one image per artist (≤ 12), so a class
 * gives min(Q, available − K) queries and classes with fewer than K + 1 images are skipped. The
 * skipped classes, the rule and each episode's queriesPerClass are recorded in the returned list.
 *
 * With `disjointSources`, each episode splits the split's sources (artists, fonts) at random into
 * two halves: support is drawn from the first only, query from the second only, so every query is
 * in another style than its support (classes lacking K support-half or 1 query-half image sit out
 * that episode). A ConfigError is raised when fewer than N classes can take part.
 */
export function sampleEpisodes(dataset: ImageDataset, split: Split, options: EpisodeOptions): EpisodeList {
  if (!SPLITS.includes(split)) throw new ConfigError(`sampleEpisodes: split must be one of ${SPLITS.join(', ')}, found ${String(split)}`);
  const ways = positiveInteger(options.ways, 'ways');
  const shots = positiveInteger(options.shots, 'shots');
  const queries = positiveInteger(options.queries, 'queries');
  const count = positiveInteger(options.count, 'count');
  if (!isSeed(options.seed)) throw new ConfigError(`sampleEpisodes: seed must be an integer in 0..2^32-1, found ${String(options.seed)}`);
  const disjointSources = options.disjointSources ?? false;

  const classes = classesOf(dataset, split).map((c) => ({ id: c.id, images: dataset.imagesOf(c.id) }));
  const eligible = classes.filter((c) => c.images.length >= shots + 1);
  const skippedClasses = classes.filter((c) => c.images.length < shots + 1).map((c) => c.id);
  if (eligible.length < ways) {
    const few = classes
      .filter((c) => c.images.length < shots + 1)
      .map((c) => `${dataset.classes.find((d) => d.id === c.id)?.name ?? c.id} (${c.images.length})`);
    const fix =
      few.length > 0
        ? `; classes with too few images: ${few.slice(0, 10).join(', ')}${few.length > 10 ? ` and ${few.length - 10} more` : ''}: add images to them, or lower K (shots) or N (ways)`
        : `; add classes to split ${split}, or lower N (ways)`;
    throw new ConfigError(
      `sampleEpisodes: ${dataset.name} ${split} has ${eligible.length} classes with at least K + 1 = ${shots + 1} images, fewer than N = ${ways} ways${fix}`,
    );
  }
  const sources = [...new Set(eligible.flatMap((c) => c.images.map((r) => r.source)))].sort();
  if (disjointSources && sources.length < 2) {
    throw new ConfigError(
      `sampleEpisodes: disjointSources needs at least 2 sources, ${dataset.name} ${split} has ${sources.length} (${sources.join(', ')})`,
    );
  }

  const random = new SeededRandom(options.seed);
  const episodes = Array.from({ length: count }, () =>
    disjointSources
      ? crossSourceEpisode(random, eligible, sources, ways, shots, queries, `${dataset.name} ${split}`)
      : episodeFrom(
          random,
          random.choose(eligible, ways).map((c) => ({ id: c.id, support: c.images, query: c.images })),
          shots,
          queries,
        ),
  );
  return {
    format: FORMAT,
    dataset: dataset.name,
    split,
    imageSize: dataset.imageSize,
    ways,
    shots,
    queries,
    seed: options.seed,
    disjointSources,
    queryRule: QUERY_RULE,
    skippedClasses,
    episodes,
  };
}

interface Candidate {
  id: string;
  support: readonly ImageRecord[]; // images support may use
  query: readonly ImageRecord[]; // images query may use (support's are excluded when shared)
}

/** K support images per class, then min(Q, what is left) queries from the rest. */
function episodeFrom(random: SeededRandom, chosen: Candidate[], shots: number, queries: number): Episode {
  const episode: Episode = { classIds: [], supportImages: [], supportLabels: [], queryImages: [], queryLabels: [], queriesPerClass: [] };
  chosen.forEach((c, label) => {
    const support = random.choose(c.support, shots);
    const rest = c.query.filter((r) => !support.includes(r));
    const query = random.choose(rest, Math.min(queries, rest.length));
    episode.classIds.push(c.id);
    for (const r of support) {
      episode.supportImages.push(r.index);
      episode.supportLabels.push(label);
    }
    for (const r of query) {
      episode.queryImages.push(r.index);
      episode.queryLabels.push(label);
    }
    episode.queriesPerClass.push(query.length);
  });
  return episode;
}

const SOURCE_SPLIT_ATTEMPTS = 100;

function crossSourceEpisode(
  random: SeededRandom,
  eligible: { id: string; images: readonly ImageRecord[] }[],
  sources: string[],
  ways: number,
  shots: number,
  queries: number,
  where: string,
): Episode {
  for (let attempt = 0; attempt < SOURCE_SPLIT_ATTEMPTS; attempt++) {
    const order = random.choose(sources, sources.length);
    const supportSources = order.slice(0, Math.ceil(sources.length / 2)).sort();
    const querySources = order.slice(Math.ceil(sources.length / 2)).sort();
    const candidates = eligible
      .map((c) => ({
        id: c.id,
        support: c.images.filter((r) => supportSources.includes(r.source)),
        query: c.images.filter((r) => querySources.includes(r.source)),
      }))
      .filter((c) => c.support.length >= shots && c.query.length >= 1);
    if (candidates.length >= ways) {
      return { ...episodeFrom(random, random.choose(candidates, ways), shots, queries), supportSources, querySources };
    }
  }
  throw new ConfigError(
    `sampleEpisodes: in ${SOURCE_SPLIT_ATTEMPTS} random halvings of the sources of ${where}, never ${ways} classes had ${shots} support-half and 1 query-half image; lower N or K, or drop disjointSources`,
  );
}

/** The tensors of one N-way K-shot episode (what evaluateEpisodeSource and episodeAccuracy take). */
export interface EpisodeTensors {
  support: tf.Tensor4D; // [N·K, H, W, C], pixels after the consumer's transform
  supportLabels: tf.Tensor1D | readonly number[]; // [N·K] in 0..N−1
  query: tf.Tensor4D; // [N·Q, H, W, C]
  queryLabels: tf.Tensor1D | readonly number[]; // [N·Q]
}

/** Episodes built on demand (and disposed after use), so hundreds never sit in memory at once. */
export interface EpisodeSource {
  count: number;
  episode(index: number): EpisodeTensors;
}

/**
 * The tensors of one episode: images as `transform` makes them of pixels in [0, 1] (for the model,
 * normalizeImages), labels as plain arrays. The caller disposes support and query. Every image
 * must belong to its label's class.
 */
export function episodeTensors(dataset: ImageDataset, episode: Episode, transform: ImageTransform): EpisodeTensors {
  const records = (images: number[], labels: number[], part: string): ImageRecord[] =>
    images.map((index, i) => {
      const classId = episode.classIds[labels[i]];
      if (classId === undefined)
        throw new ConfigError(`episodeTensors: ${part} label ${labels[i]} has no class (${episode.classIds.length} ways)`);
      const record = dataset.imagesOf(classId).find((r) => r.index === index);
      if (!record)
        throw new ConfigError(
          `episodeTensors: image ${index} is not an image of class ${classId} in ${dataset.name}; was the episode list sampled from another build?`,
        );
      return record;
    });
  const supportRecords = records(episode.supportImages, episode.supportLabels, 'support');
  const queryRecords = records(episode.queryImages, episode.queryLabels, 'query');
  const images = (part: ImageRecord[]) => tf.tidy(() => transform(pixelTensor(dataset, part)));
  const support = images(supportRecords);
  try {
    return { support, supportLabels: [...episode.supportLabels], query: images(queryRecords), queryLabels: [...episode.queryLabels] };
  } catch (error) {
    support.dispose();
    throw error;
  }
}

/** A fixed episode list as the EpisodeSource of evaluateEpisodeSource (tensors built per episode, see episodeTensors). */
export function episodeSource(dataset: ImageDataset, list: EpisodeList, transform: ImageTransform): EpisodeSource {
  if (list.dataset !== dataset.name || list.imageSize !== dataset.imageSize) {
    throw new ConfigError(
      `episodeSource: the episodes were sampled from ${list.dataset} at ${list.imageSize}px, not ${dataset.name} at ${dataset.imageSize}px`,
    );
  }
  return { count: list.episodes.length, episode: (i) => episodeTensors(dataset, list.episodes[i], transform) };
}
