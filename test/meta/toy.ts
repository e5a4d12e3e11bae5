import * as tf from '@tensorflow/tfjs';
import type { Adapter, AdapterSite } from '../../src/model/adapter-hook';
import type { FeatureModel } from '../../src/meta/feature-model';
import type { SurrogateSet } from '../../src/surrogate/set';

/** A LoRA-like adapter on one site: x·A·B with A [D, r], B [r, D] (B not zero, so both factors learn). */
export class ToyAdapter implements Adapter {
  readonly kind = 'toy';
  readonly sites: AdapterSite[] = [{ layer: 0, projection: 'q' }];
  readonly a: tf.Variable;
  readonly b: tf.Variable;
  constructor(dim: number, seed: number, trainable = true, rank = 2) {
    this.a = tf.variable(tf.randomNormal([dim, rank], 0, 0.3, 'float32', seed), trainable);
    this.b = tf.variable(tf.randomNormal([rank, dim], 0, 0.3, 'float32', seed + 1), trainable);
  }
  apply(_site: AdapterSite, x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(tf.matMul(x, this.a), this.b);
  }
  deltaWeight(): tf.Tensor2D {
    return tf.matMul(this.a, this.b);
  }
  trainableVariables(): tf.Variable[] {
    return this.a.trainable ? [this.a, this.b] : [];
  }
  parameterCount(): number {
    return this.a.size + this.b.size;
  }
  regularizer(): null {
    return null;
  }
  dispose(): void {
    this.a.dispose();
    this.b.dispose();
  }
}

/** f(x) = h + adapter(h), h = flatten(x)·W: a stand-in for the ViT with the same forward signature. */
export class ToyModel implements FeatureModel {
  readonly kernel: tf.Tensor2D;
  constructor(
    readonly inputSize: number,
    readonly dim: number,
    seed = 1,
  ) {
    this.kernel = tf.randomNormal([inputSize, dim], 0, 1 / Math.sqrt(inputSize), 'float32', seed);
  }
  forward(images: tf.Tensor4D, options: { adapter?: Adapter | null; patchPositions?: tf.Tensor2D } = {}): { features: tf.Tensor2D } {
    return tf.tidy(() => {
      const h: tf.Tensor2D = tf.matMul(tf.reshape(images, [images.shape[0], -1]) as tf.Tensor2D, this.kernel);
      const delta = options.adapter?.apply({ layer: 0, projection: 'q' }, h);
      return { features: delta ? (tf.add(h, delta) as tf.Tensor2D) : h };
    });
  }
}

/** A surrogate set of `ways` classes × `perClass` images, class c centred on its own random mean. */
export function toySet(model: ToyModel, ways: number, perClass: number, seed: number, side = 4): SurrogateSet {
  const targets = Array.from({ length: ways * perClass }, (_, i) => i % ways); // classes interleaved
  const images = tf.tidy(() => {
    const means = tf.randomNormal([ways, side, side, 3], 0, 1, 'float32', seed);
    const noise = tf.randomNormal([ways * perClass, side, side, 3], 0, 0.5, 'float32', seed + 7);
    return tf.add(tf.gather(means, tf.tensor1d(targets, 'int32')), noise) as tf.Tensor4D;
  });
  const teacherAdapter = new ToyAdapter(model.dim, seed + 3, false);
  const head = { weight: tf.randomNormal([model.dim, ways], 0, 1, 'float32', seed + 5) };
  return {
    images,
    targets,
    keptPatches: null,
    teacher: { adapter: teacherAdapter, head: { apply: (f: tf.Tensor2D) => tf.matMul(f, head.weight) } },
  };
}
