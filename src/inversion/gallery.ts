import { galleryBundle, type MimeBundle } from '../display/bundles';
import { imagesToPngDataUrls } from '../display/png';
import { LIMITS, type GalleryImage, type GallerySnapshot } from '../display/payloads';
import { keptIndicesToMask } from '../display/validate';
import type { InversionSnapshot } from './snapshot';

/** Plain data of an inversion for its gallery: frames in step order, the last one the final images. */
export interface InversionGalleryInput {
  title: string;
  classNames: string[];
  targets: readonly number[]; // [B]
  channels: number;
  patchGrid: number; // patches per side
  frames: (InversionSnapshot & { confidence?: readonly number[] })[];
}

/** Indices of the images to show: all of them, or the first of each class up to the per-snapshot limit. */
function shownImages(targets: readonly number[], ways: number): number[] {
  if (targets.length <= LIMITS.imagesPerSnapshot) return targets.map((_, i) => i);
  const perClass = Math.floor(LIMITS.imagesPerSnapshot / ways);
  const seen = new Array<number>(ways).fill(0);
  return targets.flatMap((t, i) => (seen[t]++ < perClass ? [i] : []));
}

/** Frames to show: evenly spread, always the last, within the gallery's snapshot and image limits. */
function shownFrames(count: number, imagesPerFrame: number): number[] {
  const most = Math.max(1, Math.min(LIMITS.snapshots, Math.floor(LIMITS.galleryImages / Math.max(imagesPerFrame, 1))));
  if (count <= most) return Array.from({ length: count }, (_, i) => i);
  if (most === 1) return [count - 1];
  return Array.from({ length: most }, (_, i) => Math.round((i * (count - 1)) / (most - 1)));
}

/** The gallery bundle (application/vnd.lora-recycle.gallery+json + SVG + text) of an inversion. */
export function inversionGalleryBundle(input: InversionGalleryInput): MimeBundle {
  const shown = shownImages(input.targets, input.classNames.length);
  const sampleOf = new Map<number, number>();
  const perClass = new Array<number>(input.classNames.length).fill(0);
  for (const i of shown) sampleOf.set(i, perClass[input.targets[i]]++);
  const patches = input.patchGrid * input.patchGrid;
  const snapshots: GallerySnapshot[] = shownFrames(input.frames.length, shown.length).map((f) => {
    const frame = input.frames[f];
    const size = frame.side * frame.side * input.channels;
    const urls = imagesToPngDataUrls(concatRows(frame.pixels, shown, size), shown.length, frame.side, frame.side, input.channels);
    const images: GalleryImage[] = shown.map((i, row) => ({
      classIndex: input.targets[i],
      sample: sampleOf.get(i) as number,
      src: urls[row],
      ...(frame.confidence ? { confidence: frame.confidence[i] } : {}),
      ...(frame.keptPatches ? { mask: keptIndicesToMask(frame.keptPatches[i], patches) } : {}),
    }));
    return { step: frame.step, images };
  });
  return galleryBundle({
    title: input.title,
    classes: input.classNames,
    patchGrid: { rows: input.patchGrid, cols: input.patchGrid },
    snapshots,
  });
}

/** The images `rows` of a batch stored as consecutive blocks of `size` values. */
function concatRows(values: Float32Array, rows: number[], size: number): Float32Array {
  const out = new Float32Array(rows.length * size);
  rows.forEach((r, i) => out.set(values.subarray(r * size, (r + 1) * size), i * size));
  return out;
}
