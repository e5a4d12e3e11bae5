import { createHash } from 'crypto';
import { TRAINING_SPLITS, type ClassInfo, type Split } from './dataset';

export interface RenderedImage {
  classId: string;
  source: string;
  pixels: Uint8Array;
}

/**
 * Keeps no split leak through shared drawings: an image of a held-out class (a split no model
 * trains on) that is pixel-identical to a training-split image of the same source is dropped,
 * then classes left with fewer than `minImages` images are dropped. Order is kept.
 */
export function withoutBaseCopies(
  classes: readonly ClassInfo[],
  images: readonly RenderedImage[],
  minImages: number,
): { classes: ClassInfo[]; images: RenderedImage[] } {
  const split = new Map(classes.map((c) => [c.id, c.split]));
  const key = (image: RenderedImage) => `${image.source}\n${createHash('sha256').update(image.pixels).digest('hex')}`;
  const seen = (image: RenderedImage) => TRAINING_SPLITS.includes(split.get(image.classId) as Split);
  const trained = new Set(images.filter(seen).map(key));
  const kept = images.filter((image) => seen(image) || !trained.has(key(image)));
  const counts = new Map<string, number>();
  for (const image of kept) counts.set(image.classId, (counts.get(image.classId) ?? 0) + 1);
  const keptClasses = classes.filter((c) => (counts.get(c.id) ?? 0) >= minImages);
  const keptIds = new Set(keptClasses.map((c) => c.id));
  return { classes: keptClasses, images: kept.filter((image) => keptIds.has(image.classId)) };
}
