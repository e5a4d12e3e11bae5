import * as path from 'path';
import { saveBackbone, shippedBackboneFile } from '../backbone/shipped';
import { withTemporaryDir } from '../io/temp-dir';
import type { VisionTransformer } from '../model/vision-transformer';
import type { JobRunner } from '../parallel/job-runner';
import type { RunConfig } from './config';

/** The backbone's file: the configuration's, or (random backbones) `backbone` saved as directory `target` (saveBackbone). */
export function backboneFile(config: RunConfig, backbone: VisionTransformer, target: string): string {
  const b = config.backbone;
  if (b.source === 'shipped') return shippedBackboneFile(b.name);
  if (b.source === 'hf') return b.path;
  saveBackbone(target, backbone);
  return target;
}

/**
 * `work` given the backbone as a file the runner's jobs can read (backboneFile). A random backbone
 * is saved as `<sharedDir>/.backbone/` when the runner is remote (its workers find it there, as
 * they find the run folder `sharedDir`), else in a temporary directory removed when `work` ends.
 */
export function withJobBackbone<T>(
  runner: JobRunner,
  config: RunConfig,
  backbone: VisionTransformer,
  sharedDir: string,
  work: (file: string) => Promise<T>,
): Promise<T> {
  if (runner.remote) return work(backboneFile(config, backbone, path.join(sharedDir, '.backbone')));
  return withTemporaryDir('lora-recycle-backbone-', (temp) => work(backboneFile(config, backbone, path.join(temp, 'backbone'))));
}
