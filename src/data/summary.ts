import type { Split } from './dataset';
import type { FolderBuild } from './image-folder';
import type { SkipKind, SkippedFile } from './image-folder-scan';
import type { StoreDataset } from './store-dataset';

/** What an image-folder build adds to a summary: its source sizes and what it left out. */
export interface FolderSummary {
  root: string;
  layout: FolderBuild['layout'];
  classesPerSplit: Partial<Record<Split, number>>;
  imagesPerClass: { min: number; median: number; max: number };
  sourceSizes: Record<string, number>; // "width×height" on disk → images
  skipped: { count: number; byKind: Partial<Record<SkipKind, number>>; files: SkippedFile[] };
}

/** What the data card and the data command print for one built set. */
export interface DatasetSummary {
  name: string;
  imageSize: number;
  checksum: string; // sha256 of the pixel store
  classes: number;
  images: number;
  splits: Partial<Record<Split, { classes: number; images: number }>>;
  sources: Record<string, number>; // images per artist set / font / data set (a folder: the folder)
  licences: Record<string, string>;
  folder?: FolderSummary; // image folders only (loadImageFolder)
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function folderBuild(dataset: StoreDataset): FolderBuild | undefined {
  const build = dataset.build as Partial<FolderBuild> | undefined;
  return build?.kind === 'image-folder' && Array.isArray(build.skipped) ? (build as FolderBuild) : undefined;
}

function folderSummary(dataset: StoreDataset, build: FolderBuild, splits: DatasetSummary['splits']): FolderSummary {
  const counts = dataset.classes.map((c) => dataset.imagesOf(c.id).length).sort((a, b) => a - b);
  const byKind: FolderSummary['skipped']['byKind'] = {};
  for (const s of build.skipped) byKind[s.kind] = (byKind[s.kind] ?? 0) + 1;
  return {
    root: build.root,
    layout: build.layout,
    classesPerSplit: Object.fromEntries(Object.entries(splits).map(([split, entry]) => [split, entry.classes])),
    imagesPerClass: { min: counts[0] ?? 0, median: counts.length ? median(counts) : 0, max: counts[counts.length - 1] ?? 0 },
    sourceSizes: { ...build.sourceSizes },
    skipped: { count: build.skipped.length, byKind, files: [...build.skipped] },
  };
}

export function summarizeDataset(dataset: StoreDataset): DatasetSummary {
  const splits: DatasetSummary['splits'] = {};
  const sources: Record<string, number> = {};
  const build = folderBuild(dataset);
  for (const c of dataset.classes) {
    const images = dataset.imagesOf(c.id);
    const entry = splits[c.split] ?? { classes: 0, images: 0 };
    splits[c.split] = entry;
    entry.classes += 1;
    entry.images += images.length;
    // a folder image's source is its own file: one source, the folder, instead of one per file
    if (build) sources[build.root] = (sources[build.root] ?? 0) + images.length;
    else for (const r of images) sources[r.source] = (sources[r.source] ?? 0) + 1;
  }
  return {
    name: dataset.name,
    imageSize: dataset.imageSize,
    checksum: dataset.checksum,
    classes: dataset.classes.length,
    images: dataset.imageCount,
    splits,
    sources,
    licences: { ...dataset.licences },
    ...(build ? { folder: folderSummary(dataset, build, splits) } : {}),
  };
}
