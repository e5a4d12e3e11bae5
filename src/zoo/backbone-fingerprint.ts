import { createHash } from 'crypto';
import type { VisionTransformer } from '../model/vision-transformer';
import { treeTensors } from '../model/tensor-tree';

/**
 * A short id of a backbone's exact weights (sha256 of every weight's values, in tree order),
 * so a zoo tuned on one backbone is never silently used with another.
 */
export function backboneFingerprint(backbone: VisionTransformer): string {
  const hash = createHash('sha256');
  for (const tensor of treeTensors(backbone.weights)) {
    const values = tensor.dataSync() as Float32Array;
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest('hex').slice(0, 16);
}
