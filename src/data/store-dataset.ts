import { ConfigError } from '../errors';
import type { ClassInfo, ImageDataset, ImageRecord } from './dataset';
import type { ImageStore } from './image-store';

/** An ImageDataset over a validated image store (uint8 pixels decoded on demand). */
export class StoreDataset implements ImageDataset {
  readonly name: string;
  readonly imageSize: number;
  readonly classes: readonly ClassInfo[];
  readonly licences: Readonly<Record<string, string>>;
  readonly checksum: string;
  /** What the build saw beyond the pixels (a folder's skipped files, source sizes), when the loader kept it. */
  readonly build: Readonly<Record<string, unknown>> | undefined;
  private readonly byClass = new Map<string, ImageRecord[]>();

  constructor(private readonly store: ImageStore) {
    const { index } = store;
    this.name = index.name;
    this.imageSize = index.imageSize;
    this.classes = index.classes;
    this.licences = index.licences;
    this.checksum = index.sha256;
    this.build = index.build;
    for (const c of index.classes) this.byClass.set(c.id, []);
    index.images.forEach((image, i) => this.byClass.get(image.classId)?.push({ classId: image.classId, source: image.source, index: i }));
  }

  get imageCount(): number {
    return this.store.index.images.length;
  }

  imagesOf(classId: string): readonly ImageRecord[] {
    const images = this.byClass.get(classId);
    if (!images) throw new ConfigError(`dataset ${this.name} has no class "${classId}"`);
    return images;
  }

  pixels(record: ImageRecord): Float32Array {
    const size = this.imageSize * this.imageSize * 3;
    if (!Number.isInteger(record.index) || record.index < 0 || record.index >= this.imageCount) {
      throw new ConfigError(`dataset ${this.name} has no image ${record.index}`);
    }
    const bytes = this.store.pixels.subarray(record.index * size, (record.index + 1) * size);
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = bytes[i] / 255;
    return out;
  }
}
