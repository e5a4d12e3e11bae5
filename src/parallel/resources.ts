import * as fs from 'fs';
import * as path from 'path';
import type { StoreDataset } from '../data/store-dataset';
import { loadVisionTower } from '../io/vit-file';
import { VisionTransformer } from '../model/vision-transformer';
import { datasetSpecKey, loadDatasetSpec, type DatasetSpec } from '../data/dataset-spec';

/**
 * What the jobs of one worker share: backbones (by file, reloaded when the file changes) and
 * datasets (by spec), loaded on first use. dispose() frees the backbones' tensors.
 */
export class JobResources {
  private readonly backbones = new Map<string, { stamp: string; model: VisionTransformer }>();
  private readonly datasets = new Map<string, Promise<StoreDataset>>();

  /** The backbone in `file` (an HF CLIP checkpoint directory or model.safetensors, or a lora-recycle/vit@1 file). */
  backbone(file: string): VisionTransformer {
    const key = path.resolve(file);
    const stamp = fileStamp(key);
    const cached = this.backbones.get(key);
    if (cached && cached.stamp === stamp) return cached.model;
    const { config, weights } = loadVisionTower(key);
    const model = new VisionTransformer(config, weights);
    cached?.model.dispose();
    this.backbones.set(key, { stamp, model });
    return model;
  }

  dataset(spec: DatasetSpec): Promise<StoreDataset> {
    const key = datasetSpecKey(spec);
    let loaded = this.datasets.get(key);
    if (!loaded) {
      loaded = loadDatasetSpec(spec);
      loaded.catch(() => this.datasets.delete(key)); // a failed load is retried by the next job
      this.datasets.set(key, loaded);
    }
    return loaded;
  }

  dispose(): void {
    for (const { model } of this.backbones.values()) model.dispose();
    this.backbones.clear();
    this.datasets.clear();
  }
}

/** Size and modification time of the weights file (a missing file is loadVisionTower's error to report). */
function fileStamp(target: string): string {
  const file = fs.existsSync(target) && fs.statSync(target).isDirectory() ? path.join(target, 'model.safetensors') : target;
  if (!fs.existsSync(file)) return 'missing';
  const stat = fs.statSync(file);
  return `${stat.size}:${stat.mtimeMs}`;
}
