import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../errors';
import type { SurrogateSet } from '../surrogate/set';

/** One image of a surrogate set. */
export interface ImageRef {
  set: number;
  index: number;
}

/** An episode as indices: support first (N·K, class-major), then query (N·Q). */
export interface SurrogateEpisode {
  kind: 'single' | 'interpolated';
  /** For a single-LoRA episode, the set whose teacher supplies the KL target. */
  teacherSet: number | null;
  ways: number;
  support: ImageRef[];
  supportLabels: number[];
  query: ImageRef[];
  queryLabels: number[];
}

export interface EpisodeShape {
  ways: number; // N
  shots: number; // K
  queries: number; // Q per class
}

/** Per class of a set, the indices of its images in order. Throws if a class has too few images. */
export function imagesByClass(set: SurrogateSet, setIndex: number, shape: EpisodeShape): number[][] {
  const byClass: number[][] = Array.from({ length: shape.ways }, () => []);
  set.targets.forEach((target, index) => {
    if (!Number.isInteger(target) || target < 0 || target >= shape.ways) {
      throw new ConfigError(`surrogate set ${setIndex}: targets must be integers in 0..${shape.ways - 1}, found ${target}`);
    }
    byClass[target].push(index);
  });
  if (set.imageIds) {
    if (set.imageIds.length !== set.targets.length) {
      throw new ConfigError(`surrogate set ${setIndex}: ${set.imageIds.length} image ids for ${set.targets.length} images`);
    }
    const seen = new Set<string>();
    for (const id of set.imageIds) {
      if (seen.has(id))
        throw new ConfigError(`surrogate set ${setIndex} holds image ${id} twice; an episode could show it as support and query`);
      seen.add(id);
    }
  }
  const needed = shape.shots + shape.queries;
  byClass.forEach((indices, label) => {
    if (indices.length < needed) {
      throw new ConfigError(
        `surrogate set ${setIndex}: class ${label} has ${indices.length} images, a ${shape.shots}-shot ${shape.queries}-query episode needs ${needed}`,
      );
    }
  });
  return byClass;
}

/** `draw(n, count)`: `count` distinct integers of [0, n), from the run's seeded generator. */
export type Draw = (n: number, count: number) => number[];

function episodeOf(
  kind: SurrogateEpisode['kind'],
  teacherSet: number | null,
  classes: { set: number; indices: number[] }[],
  shape: EpisodeShape,
  draw: Draw,
): SurrogateEpisode {
  const episode: SurrogateEpisode = { kind, teacherSet, ways: shape.ways, support: [], supportLabels: [], query: [], queryLabels: [] };
  const needed = shape.shots + shape.queries;
  classes.forEach(({ set, indices }, label) => {
    // support = the first K images of the class, query = the next Q (method.md §1.5); a class
    // with more than K + Q images (several inversions of a LoRA, real images) gives a random K + Q
    const chosen = indices.length > needed ? draw(indices.length, needed).map((i) => indices[i]) : indices;
    chosen.slice(0, shape.shots).forEach((index) => {
      episode.support.push({ set, index });
      episode.supportLabels.push(label);
    });
    chosen.slice(shape.shots, needed).forEach((index) => {
      episode.query.push({ set, index });
      episode.queryLabels.push(label);
    });
  });
  return episode;
}

/** A single-LoRA episode: the N classes of set `setIndex`, labels = the teacher's classes. */
export function singleLoraEpisode(byClass: number[][][], setIndex: number, shape: EpisodeShape, draw: Draw): SurrogateEpisode {
  return episodeOf(
    'single',
    setIndex,
    byClass[setIndex].map((indices) => ({ set: setIndex, indices })),
    shape,
    draw,
  );
}

/** Attempts at drawing N (set, class) pairs that share no image before giving up. */
const DISJOINT_DRAW_ATTEMPTS = 100;

/**
 * A cross-task interpolated episode: N (set, class) pairs drawn without replacement from all
 * sets' classes, relabelled 0..N−1 in the drawn order. `draw(n, count)` returns `count`
 * distinct integers of [0, n). With `imageIds` (per set, SurrogateSet.imageIds; real images of
 * LoRAs that share a class), pairs that hold a common image are never drawn together (drawn
 * again), so no image is in an episode twice, under two labels.
 */
export function interpolatedEpisode(
  byClass: number[][][],
  shape: EpisodeShape,
  draw: Draw,
  imageIds: readonly (readonly string[] | undefined)[] = [],
): SurrogateEpisode {
  const pool = byClass.flatMap((classes, set) => classes.map((indices) => ({ set, indices })));
  if (pool.length < shape.ways) {
    throw new ConfigError(`interpolated episode: ${shape.ways} ways need ${shape.ways} surrogate classes, found ${pool.length}`);
  }
  const disjoint = (chosen: typeof pool): boolean => {
    const seen = new Set<string>();
    for (const { set, indices } of chosen) {
      const ids = imageIds[set];
      if (!ids) continue;
      for (const index of indices) {
        if (seen.has(ids[index])) return false;
        seen.add(ids[index]);
      }
    }
    return true;
  };
  for (let attempt = 0; attempt < DISJOINT_DRAW_ATTEMPTS; attempt++) {
    const chosen = draw(pool.length, shape.ways).map((i) => pool[i]);
    if (disjoint(chosen)) return episodeOf('interpolated', null, chosen, shape, draw);
  }
  throw new ConfigError(
    `interpolated episode: in ${DISJOINT_DRAW_ATTEMPTS} draws, never ${shape.ways} surrogate classes without a common image (sets share real images)`,
  );
}

/** Row-major patch index of patch (r, c) after a horizontal flip: (r, G−1−c). */
export function flipPatchIndex(index: number, grid: number): number {
  const row = Math.floor(index / grid);
  const col = index % grid;
  return row * grid + (grid - 1 - col);
}

/** The tensors of an episode: images [N·K + N·Q, H, W, C] and, for sparse sets, positions int32 [same, n]. */
export interface EpisodeImages {
  images: tf.Tensor4D;
  positions: tf.Tensor2D | null;
}

/**
 * Gathers an episode's images (support then query), flipping image i horizontally when
 * `flips[i]` (its kept patch positions are mirrored with it).
 */
export function episodeImages(
  sets: readonly SurrogateSet[],
  refs: readonly ImageRef[],
  flips: readonly boolean[],
  grid: number,
): EpisodeImages {
  const sparse = sets[refs[0].set].keptPatches !== null;
  const rows: number[][] = [];
  if (sparse) {
    for (const ref of refs) {
      const kept = sets[ref.set].keptPatches;
      if (!kept) throw new ShapeError(`episode mixes sparse and dense surrogate sets (set ${ref.set} has no kept patches)`);
      rows.push(kept[ref.index].map((p) => p));
    }
    const n = rows[0].length;
    const bad = rows.findIndex((r) => r.length !== n);
    if (bad >= 0) throw new ShapeError(`episode images keep different numbers of patches: ${n} and ${rows[bad].length}`);
  }
  const images = tf.tidy(() => {
    const perSet = new Map<number, { order: number[]; indices: number[] }>();
    refs.forEach((ref, order) => {
      const entry = perSet.get(ref.set) ?? { order: [], indices: [] };
      entry.order.push(order);
      entry.indices.push(ref.index);
      perSet.set(ref.set, entry);
    });
    const parts: tf.Tensor4D[] = [];
    const orderOfParts: number[] = [];
    perSet.forEach(({ order, indices }, set) => {
      parts.push(tf.gather(sets[set].images, tf.tensor1d(indices, 'int32')));
      orderOfParts.push(...order);
    });
    const stacked = parts.length === 1 ? parts[0] : tf.concat(parts, 0); // grouped by set
    const inverse = new Array<number>(refs.length);
    orderOfParts.forEach((order, row) => {
      inverse[order] = row;
    });
    const ordered = tf.gather(stacked, tf.tensor1d(inverse, 'int32')) as tf.Tensor4D; // [B, H, W, C]
    if (!flips.some(Boolean)) return ordered;
    const mask = tf.tensor4d(
      flips.map((f) => (f ? 1 : 0)),
      [refs.length, 1, 1, 1],
      'bool',
    );
    return tf.where(mask, tf.reverse(ordered, 2), ordered) as tf.Tensor4D;
  });
  const positions = sparse
    ? tf.tensor2d(
        rows.map((row, i) => (flips[i] ? row.map((p) => flipPatchIndex(p, grid)) : row)),
        [rows.length, rows[0].length],
        'int32',
      )
    : null;
  return { images, positions };
}
