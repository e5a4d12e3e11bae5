import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors';

/**
 * Pixel masks of the surviving patches: [B, H, W, 1] with 1 on every pixel of a kept patch
 * (row-major patch index, as `ForwardOutput.keptPatches`) and 0 elsewhere (method.md §1.4).
 */
export function patchMasks(keptPatches: readonly (readonly number[])[], imageSize: number, patchSize: number): tf.Tensor4D {
  const grid = imageSize / patchSize;
  const values = new Float32Array(keptPatches.length * imageSize * imageSize);
  keptPatches.forEach((kept, b) => {
    for (const patch of kept) {
      if (!Number.isInteger(patch) || patch < 0 || patch >= grid * grid) {
        throw new ShapeError(`patchMasks: image ${b} keeps patch ${patch}, expected an index in 0..${grid * grid - 1}`);
      }
      const top = Math.floor(patch / grid) * patchSize;
      const left = (patch % grid) * patchSize;
      for (let y = top; y < top + patchSize; y++) {
        values.fill(1, (b * imageSize + y) * imageSize + left, (b * imageSize + y) * imageSize + left + patchSize);
      }
    }
  });
  return tf.tensor4d(values, [keptPatches.length, imageSize, imageSize, 1]);
}
