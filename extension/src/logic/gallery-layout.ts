/**
 * Layout of the inversion gallery, DOM-free: rows are the classes present (in class order),
 * columns the sample numbers; each snapshot maps a cell to its image.
 */
import type { GalleryImage, GalleryPayload, PatchGrid } from 'lora-recycle/display/schema';

export interface GalleryCell {
  key: string;
  classIndex: number;
  sample: number;
  row: number;
  col: number;
}

export interface GalleryLayout {
  rows: number[]; // class indices, one per row
  cols: number; // samples per row (max sample + 1)
  cells: GalleryCell[];
  hasMasks: boolean;
}

export const cellKey = (classIndex: number, sample: number) => `${classIndex}:${sample}`;

export function galleryLayout(p: GalleryPayload): GalleryLayout {
  const seen = new Map<string, { classIndex: number; sample: number }>();
  let hasMasks = false;
  for (const snap of p.snapshots) {
    for (const im of snap.images) {
      seen.set(cellKey(im.classIndex, im.sample), im);
      hasMasks ||= im.mask !== undefined;
    }
  }
  const rows = [...new Set([...seen.values()].map((c) => c.classIndex))].sort((a, b) => a - b);
  const cells = [...seen.entries()]
    .map(([key, c]) => ({ key, classIndex: c.classIndex, sample: c.sample, row: rows.indexOf(c.classIndex), col: c.sample }))
    .sort((a, b) => a.row - b.row || a.col - b.col);
  const cols = Math.max(1, ...cells.map((c) => c.col + 1));
  return { rows, cols, cells, hasMasks };
}

/** The images of one snapshot by cell key. */
export function snapshotImages(p: GalleryPayload, index: number): Map<string, GalleryImage> {
  const snap = p.snapshots[Math.min(Math.max(index, 0), p.snapshots.length - 1)];
  return new Map(snap.images.map((im) => [cellKey(im.classIndex, im.sample), im]));
}

/**
 * Which snapshot to show after the payload changed: stay on the same step if the user moved the
 * slider away from the end, else follow the newest snapshot.
 */
export function nextSnapshotIndex(p: GalleryPayload, previousStep: number | null, wasAtEnd: boolean): number {
  if (previousStep === null || wasAtEnd) return p.snapshots.length - 1;
  const i = p.snapshots.findIndex((s) => s.step === previousStep);
  return i >= 0 ? i : p.snapshots.length - 1;
}

/** Row-major [row, col] of the dropped patches (mask value 0). */
export function droppedPatches(mask: number[], grid: PatchGrid): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  mask.forEach((m, i) => {
    if (m === 0) out.push([Math.floor(i / grid.cols), i % grid.cols]);
  });
  return out;
}

export function keptFraction(mask: number[]): number {
  return mask.length ? mask.reduce((a, b) => a + b, 0) / mask.length : 0;
}

export function formatConfidence(c: number | undefined): string {
  return c === undefined ? '' : `p=${c.toFixed(2)}`;
}

/**
 * The value a key moves a range control to (arrows ±step, PageUp/PageDown ±10% of the range,
 * Home/End), clamped, or null for other keys. The renderers handle these keys themselves so
 * notebook shortcuts cannot swallow them.
 */
export function rangeKey(key: string, value: number, min: number, max: number, step: number): number | null {
  const page = Math.max(step, Math.round((max - min) / 10 / step) * step);
  const moves: Record<string, number> = {
    ArrowRight: value + step,
    ArrowUp: value + step,
    ArrowLeft: value - step,
    ArrowDown: value - step,
    PageUp: value + page,
    PageDown: value - page,
    Home: min,
    End: max,
  };
  if (!(key in moves)) return null;
  const snapped = min + Math.round((moves[key] - min) / step) * step;
  return Math.min(max, Math.max(min, +snapped.toFixed(6)));
}

/** The snapshot index a key moves the step slider to (see rangeKey). */
export function sliderKey(key: string, index: number, count: number): number | null {
  return rangeKey(key, index, 0, count - 1, 1);
}
