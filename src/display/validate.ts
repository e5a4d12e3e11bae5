/**
 * Runtime validators of the display payloads: the schema of ./payloads.ts as code, with the
 * size limits of LIMITS. They return a clean copy (unknown fields dropped) or throw PayloadError.
 * Pure and DOM-free: the library calls them before emitting, the extension before drawing.
 */
import { LIMITS } from './payloads';
import type {
  CurveSeries,
  CurvesPayload,
  EpisodePayload,
  EpisodeQueryImage,
  GalleryImage,
  GalleryPayload,
  GallerySnapshot,
  PatchGrid,
  PayloadByKind,
  PruningImage,
  PruningPayload,
  ZooLora,
  ZooPayload,
} from './payloads';
import { MIME, type PayloadKind } from './mime-types';
import { PayloadError } from './payload-error';
import { finite, flag, list, mask, optional, pngDataUrl, record, text, version } from './check';

const classNames = (v: unknown, p: string) => list(v, p, LIMITS.classes, (c, q) => text(c, q));
const title = (o: Record<string, unknown>, p: string) => optional(o.title, (v) => text(v, `${p}.title`));

function patchGrid(value: unknown, path: string): PatchGrid {
  const o = record(value, path);
  const rows = finite(o.rows, `${path}.rows`, { integer: true, min: 1, max: LIMITS.patches });
  const cols = finite(o.cols, `${path}.cols`, { integer: true, min: 1, max: LIMITS.patches });
  if (rows * cols > LIMITS.patches) throw new PayloadError(path, `expected at most ${LIMITS.patches} patches, found ${rows * cols}`);
  return { rows, cols };
}

const patchCount = (grid: PatchGrid) => grid.rows * grid.cols;
const classIndex = (v: unknown, p: string, classes: string[]) => finite(v, p, { integer: true, min: 0, max: classes.length - 1 });
const probability = (v: unknown, p: string) => finite(v, p, { min: 0, max: 1 });

// ---------------------------------------------------------------- gallery

export function validateGallery(value: unknown, path = 'gallery'): GalleryPayload {
  const o = record(value, path);
  const classes = classNames(o.classes, `${path}.classes`);
  const grid = optional(o.patchGrid, (v) => patchGrid(v, `${path}.patchGrid`));
  let total = 0;
  const image = (v: unknown, p: string): GalleryImage => {
    const im = record(v, p);
    if (im.mask !== undefined && !grid)
      throw new PayloadError(`${p}.mask`, 'expected `patchGrid` on the gallery when images carry masks, found none');
    return {
      classIndex: classIndex(im.classIndex, `${p}.classIndex`, classes),
      sample: finite(im.sample, `${p}.sample`, { integer: true, min: 0, max: LIMITS.imagesPerSnapshot }),
      src: pngDataUrl(im.src, `${p}.src`),
      confidence: optional(im.confidence, (c) => probability(c, `${p}.confidence`)),
      mask: grid ? optional(im.mask, (m) => mask(m, `${p}.mask`, patchCount(grid))) : undefined,
    };
  };
  const snapshot = (v: unknown, p: string): GallerySnapshot => {
    const s = record(v, p);
    const images = list(s.images, `${p}.images`, LIMITS.imagesPerSnapshot, image);
    total += images.length;
    if (total > LIMITS.galleryImages)
      throw new PayloadError(path, `expected at most ${LIMITS.galleryImages} images over all snapshots, found more`);
    return { step: finite(s.step, `${p}.step`, { integer: true, min: 0 }), images };
  };
  const snapshots = list(o.snapshots, `${path}.snapshots`, LIMITS.snapshots, snapshot);
  if (snapshots.length === 0) throw new PayloadError(`${path}.snapshots`, 'expected at least one snapshot, found none');
  return { version: version(o.version, `${path}.version`), title: title(o, path), classes, patchGrid: grid, snapshots };
}

// ---------------------------------------------------------------- pruning

export function validatePruning(value: unknown, path = 'pruning'): PruningPayload {
  const o = record(value, path);
  const grid = patchGrid(o.patchGrid, `${path}.patchGrid`);
  const image = (v: unknown, p: string): PruningImage => {
    const im = record(v, p);
    return {
      src: pngDataUrl(im.src, `${p}.src`),
      label: optional(im.label, (l) => text(l, `${p}.label`)),
      layers: list(im.layers, `${p}.layers`, LIMITS.layers, (l, q) => {
        const layer = record(l, q);
        return {
          layer: finite(layer.layer, `${q}.layer`, { integer: true, min: 0, max: LIMITS.layers }),
          kept: mask(layer.kept, `${q}.kept`, patchCount(grid)),
        };
      }),
    };
  };
  const images = list(o.images, `${path}.images`, LIMITS.pruningImages, image);
  return { version: version(o.version, `${path}.version`), title: title(o, path), patchGrid: grid, images };
}

// ---------------------------------------------------------------- curves

function series(value: unknown, path: string): CurveSeries {
  const o = record(value, path);
  const split = o.split;
  if (split !== 'train' && split !== 'validation') {
    throw new PayloadError(`${path}.split`, `expected "train" or "validation", found ${JSON.stringify(split)?.slice(0, 40)}`);
  }
  const x = list(o.x, `${path}.x`, LIMITS.points, (v, p) => finite(v, p));
  const y = list(o.y, `${path}.y`, LIMITS.points, (v, p) => finite(v, p));
  if (x.length !== y.length) throw new PayloadError(path, `expected x and y of the same length, found ${x.length} and ${y.length}`);
  return { metric: text(o.metric, `${path}.metric`), split, x, y };
}

export function validateCurves(value: unknown, path = 'curves'): CurvesPayload {
  const o = record(value, path);
  return {
    version: version(o.version, `${path}.version`),
    title: title(o, path),
    run: optional(o.run, (v) => text(v, `${path}.run`)),
    running: optional(o.running, (v) => flag(v, `${path}.running`)),
    stoppable: optional(o.stoppable, (v) => flag(v, `${path}.stoppable`)),
    xLabel: optional(o.xLabel, (v) => text(v, `${path}.xLabel`)),
    series: list(o.series, `${path}.series`, LIMITS.series, series),
  };
}

// ---------------------------------------------------------------- episode

export function validateEpisode(value: unknown, path = 'episode'): EpisodePayload {
  const o = record(value, path);
  const classes = classNames(o.classes, `${path}.classes`);
  const support = list(o.support, `${path}.support`, LIMITS.episodeImages, (v, p) => {
    const im = record(v, p);
    return { src: pngDataUrl(im.src, `${p}.src`), label: classIndex(im.label, `${p}.label`, classes) };
  });
  const query = list(o.query, `${path}.query`, LIMITS.episodeImages - support.length, (v, p): EpisodeQueryImage => {
    const im = record(v, p);
    return {
      src: pngDataUrl(im.src, `${p}.src`),
      label: classIndex(im.label, `${p}.label`, classes),
      prediction: optional(im.prediction, (c) => classIndex(c, `${p}.prediction`, classes)),
      confidence: optional(im.confidence, (c) => probability(c, `${p}.confidence`)),
      margin: optional(im.margin, (m) => finite(m, `${p}.margin`, { min: 0 })),
    };
  });
  const scoring = optional(o.scoring, (v) => text(v, `${path}.scoring`));
  return { version: version(o.version, `${path}.version`), title: title(o, path), scoring, classes, support, query };
}

// ---------------------------------------------------------------- zoo

function tuningRecord(value: unknown, path: string): Record<string, number | string> {
  const o = record(value, path);
  const keys = Object.keys(o);
  if (keys.length > LIMITS.recordEntries)
    throw new PayloadError(path, `expected at most ${LIMITS.recordEntries} entries, found ${keys.length}`);
  const out: Record<string, number | string> = {};
  for (const key of keys) {
    text(key, `${path} key`);
    const v = o[key];
    out[key] = typeof v === 'number' ? finite(v, `${path}.${key}`) : text(v, `${path}.${key}`);
  }
  return out;
}

export function validateZoo(value: unknown, path = 'zoo'): ZooPayload {
  const o = record(value, path);
  const lora = (v: unknown, p: string): ZooLora => {
    const l = record(v, p);
    return {
      id: text(l.id, `${p}.id`),
      classes: classNames(l.classes, `${p}.classes`),
      rank: optional(l.rank, (r) => finite(r, `${p}.rank`, { integer: true, min: 1, max: 4096 })),
      targets: optional(l.targets, (t) => list(t, `${p}.targets`, 16, (s, q) => text(s, q))),
      record: optional(l.record, (r) => tuningRecord(r, `${p}.record`)),
    };
  };
  return {
    version: version(o.version, `${path}.version`),
    title: title(o, path),
    backbone: optional(o.backbone, (v) => text(v, `${path}.backbone`)),
    loras: list(o.loras, `${path}.loras`, LIMITS.loras, lora),
  };
}

// ---------------------------------------------------------------- by kind / MIME type

export const VALIDATORS: { [K in PayloadKind]: (value: unknown, path?: string) => PayloadByKind[K] } = {
  gallery: validateGallery,
  pruning: validatePruning,
  curves: validateCurves,
  episode: validateEpisode,
  zoo: validateZoo,
};

export function kindOfMime(mime: string): PayloadKind {
  const kind = (Object.keys(MIME) as PayloadKind[]).find((k) => MIME[k] === mime);
  if (!kind) throw new PayloadError('mime', `expected one of ${Object.values(MIME).join(', ')}, found "${mime.slice(0, 80)}"`);
  return kind;
}

/**
 * Parses a payload as it reaches a renderer: a JSON object, or JSON text (some kernels send
 * `+json` data as a string), then validates it against the schema of `kind`.
 */
export function parsePayload<K extends PayloadKind>(kind: K, data: unknown): PayloadByKind[K] {
  let value = data;
  if (typeof data === 'string') {
    try {
      value = JSON.parse(data);
    } catch {
      throw new PayloadError(kind, 'expected JSON, found text that does not parse');
    }
  }
  return VALIDATORS[kind](value, kind) as PayloadByKind[K];
}

/**
 * The 0/1 patch mask of the surviving patch indices of one image (e.g. a row of
 * `ForwardOutput.keptPatches`): 1 at each kept index, 0 elsewhere; `patches` = rows·cols.
 */
export function keptIndicesToMask(kept: ArrayLike<number>, patches: number): number[] {
  if (!Number.isInteger(patches) || patches < 1 || patches > LIMITS.patches) {
    throw new PayloadError('patches', `expected an integer in 1..${LIMITS.patches}, found ${patches}`);
  }
  const mask = new Array<number>(patches).fill(0);
  for (let i = 0; i < kept.length; i++) {
    const p = kept[i];
    if (!Number.isInteger(p) || p < 0 || p >= patches)
      throw new PayloadError(`kept[${i}]`, `expected a patch index in 0..${patches - 1}, found ${p}`);
    mask[p] = 1;
  }
  return mask;
}
