import type { Split } from './dataset';
import type { StoreDataset } from './store-dataset';

/** What the data card and the data command print for one built set. */
export interface DatasetSummary {
  name: string;
  imageSize: number;
  checksum: string; // sha256 of the pixel store
  classes: number;
  images: number;
  splits: Partial<Record<Split, { classes: number; images: number }>>;
  sources: Record<string, number>; // images per artist set / font / data set
  licences: Record<string, string>;
}

export function summarizeDataset(dataset: StoreDataset): DatasetSummary {
  const splits: DatasetSummary['splits'] = {};
  const sources: Record<string, number> = {};
  for (const c of dataset.classes) {
    const images = dataset.imagesOf(c.id);
    const entry = splits[c.split] ?? { classes: 0, images: 0 };
    splits[c.split] = entry;
    entry.classes += 1;
    entry.images += images.length;
    for (const r of images) sources[r.source] = (sources[r.source] ?? 0) + 1;
  }
  return {
    name: dataset.name, imageSize: dataset.imageSize, checksum: dataset.checksum,
    classes: dataset.classes.length, images: dataset.imageCount, splits, sources, licences: { ...dataset.licences },
  };
}
