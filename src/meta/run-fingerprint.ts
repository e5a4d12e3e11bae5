import { createHash, type Hash } from 'crypto';
import * as tf from '@tensorflow/tfjs';
import type { Adapter } from '../model/adapter-hook';
import type { ClassifierHead, SurrogateSet } from '../surrogate/set';

/** What meta-training needs of the student model here: its feature width (FeatureModel satisfies it). */
interface Features {
  forward(images: tf.Tensor4D, options?: { adapter?: Adapter | null }): { features: tf.Tensor2D };
}

function hashTensor(hash: Hash, tensor: tf.Tensor): void {
  const values = tensor.dataSync();
  hash.update(JSON.stringify({ dtype: tensor.dtype, shape: tensor.shape }));
  hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/** The adapter's kind, sites and weights: A, B and scale of each low-rank site, else its ΔW. */
function hashAdapter(hash: Hash, adapter: Adapter): void {
  hash.update(JSON.stringify({ kind: adapter.kind, sites: adapter.sites }));
  for (const site of adapter.sites) {
    const factors = adapter.lowRankFactors?.(site);
    if (factors) {
      hash.update(JSON.stringify({ scale: factors.scale }));
      hashTensor(hash, factors.a);
      hashTensor(hash, factors.b);
    } else {
      tf.tidy(() => {
        const delta = adapter.deltaWeight(site);
        hash.update(delta ? '' : 'none');
        if (delta) hashTensor(hash, delta);
      });
    }
  }
}

/** The head's affine map, whatever its class: its outputs at 0 (the bias) and at the identity (W + bias), [D + 1, N]. */
function hashHead(hash: Hash, head: ClassifierHead, width: number): void {
  tf.tidy(() => hashTensor(hash, head.apply(tf.concat([tf.zeros([1, width]), tf.eye(width)]) as tf.Tensor2D)));
}

/**
 * sha256 (hex) of everything meta-training reads of `sets`, in order: per set its images, targets,
 * kept patches and image ids, and its teacher (adapter weights and head). A set that carries the
 * pixels and masks its images are made from (RecordedSurrogateSet) is hashed by those, the exact
 * values a surrogate file stores, so a set read back from its file hashes as the one written; a
 * plain set by its student images. Reads each tensor once (call it once per run, not per step);
 * leaves no tensor behind.
 */
export function surrogateSetsDigest(model: Features, sets: readonly SurrogateSet[]): string {
  const hash = createHash('sha256');
  const width =
    sets.length === 0 ? 0 : tf.tidy(() => model.forward(tf.slice(sets[0].images, [0, 0, 0, 0], [1, -1, -1, -1])).features.shape[1]);
  sets.forEach((set, i) => {
    const recorded = set as Partial<{ pixels: tf.Tensor4D; masks: tf.Tensor4D | null }>;
    hash.update(JSON.stringify({ set: i, targets: set.targets, keptPatches: set.keptPatches, imageIds: set.imageIds ?? null }));
    if (recorded.pixels) {
      hash.update('pixels');
      hashTensor(hash, recorded.pixels);
      if (recorded.masks) hashTensor(hash, recorded.masks);
    } else {
      hash.update('images');
      hashTensor(hash, set.images);
    }
    hashAdapter(hash, set.teacher.adapter);
    hashHead(hash, set.teacher.head, width);
  });
  return hash.digest('hex');
}
