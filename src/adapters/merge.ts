import * as tf from '@tensorflow/tfjs';
import type { ViTWeights, BlockWeights } from '../model/weights';
import { mapTree } from '../model/tensor-tree';
import type { Adapter } from '../model/adapter-hook';

/**
 * A copy of the weights with each adapted kernel replaced by W ± ΔW (the adapter's update is
 * linear, so a merged model costs what the plain one does). The input is not modified; the
 * result owns all its tensors (hand it to a VisionTransformer).
 */
function withDelta(weights: ViTWeights, adapter: Adapter, sign: 1 | -1): ViTWeights {
  const copy = mapTree(weights, (t) => t.clone());
  const blocks = copy.blocks.map((block, layer) => {
    const next: BlockWeights = { ...block };
    for (const site of adapter.sites.filter((s) => s.layer === layer)) {
      const delta = adapter.deltaWeight(site);
      if (!delta) continue;
      const linear = block[site.projection];
      next[site.projection] = { ...linear, kernel: tf.tidy(() => tf.add(linear.kernel, tf.mul(delta, sign)) as tf.Tensor2D) };
      tf.dispose([delta, linear.kernel]);
    }
    return next;
  });
  return { ...copy, blocks };
}

/** W' = W + ΔW at every adapted site. */
export function mergeAdapter(weights: ViTWeights, adapter: Adapter): ViTWeights {
  return withDelta(weights, adapter, 1);
}

/** W = W' − ΔW: the inverse of mergeAdapter (up to float rounding). */
export function unmergeAdapter(merged: ViTWeights, adapter: Adapter): ViTWeights {
  return withDelta(merged, adapter, -1);
}
