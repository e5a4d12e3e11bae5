import * as tf from '@tensorflow/tfjs';
import { LoRA } from '../../src/adapters';
import type { Teacher } from '../../src/surrogate/set';
import { LinearHead, VisionTransformer, mapTree, randomViTWeights, treeTensors, type ViTConfig } from '../../src/model';
import { PriorCnn, type PriorCnnConfig } from '../../src/prior';

/** 16×16 images, patch 4 → 16 patches + [CLS]; two blocks. */
export const SMALL_VIT: ViTConfig = {
  imageSize: 16,
  patchSize: 4,
  channels: 3,
  width: 16,
  depth: 2,
  heads: 2,
  mlpWidth: 32,
  projectionDim: 8,
  layerNormEps: 1e-5,
};

export const SMALL_PRIOR: PriorCnnConfig = { imageSize: 16, channels: 3, widths: [4, 6], classes: 2, batchNormEps: 1e-5 };

/** A LoRA on q, v with random A and non-zero random B, plus a head for `ways` classes. */
export function randomTeacher(
  config: ViTConfig,
  ways: number,
  seed: number,
): Teacher & { adapter: LoRA; head: LinearHead; dispose(): void } {
  const fresh = LoRA.create(config, { seed });
  const parameters = fresh.toParameters();
  fresh.dispose();
  const factors = parameters.factors.map((f, i) => ({
    site: f.site,
    a: f.a,
    b: tf.randomNormal(f.b.shape, 0, 0.5, 'float32', seed + 50 + i) as tf.Tensor2D,
  }));
  const adapter = LoRA.fromParameters({ ...parameters, factors });
  tf.dispose([...parameters.factors.flatMap((f) => [f.a, f.b]), ...factors.map((f) => f.b)]);
  // a strong head, so that the teacher's logits respond to the pixels of a random backbone
  const weight = tf.randomNormal([config.projectionDim, ways], 0, 1, 'float32', seed + 7) as tf.Tensor2D;
  const bias = tf.zeros([ways]) as tf.Tensor1D;
  const head = LinearHead.fromTensors(weight, bias);
  tf.dispose([weight, bias]);
  return {
    adapter,
    head,
    dispose: () => {
      adapter.dispose();
      head.dispose();
    },
  };
}

/**
 * A random backbone whose features depend on the pixels: CLIP's N(0, 0.02) initialisation
 * scaled ×8 for every matrix (a random tiny ViT otherwise outputs nearly its [CLS] embedding).
 */
export function responsiveBackbone(config: ViTConfig, seed: number): VisionTransformer {
  const base = randomViTWeights(config, seed);
  const weights = mapTree(base, (t) => (t.rank === 2 ? tf.mul(t, 8) : t.clone()));
  tf.dispose(treeTensors(base));
  return new VisionTransformer(config, weights);
}

export function smallSetup(ways = 3): { backbone: VisionTransformer; teacher: Teacher & { dispose(): void }; prior: PriorCnn } {
  return {
    backbone: responsiveBackbone(SMALL_VIT, 3),
    teacher: randomTeacher(SMALL_VIT, ways, 11),
    prior: PriorCnn.random(SMALL_PRIOR, 5),
  };
}
