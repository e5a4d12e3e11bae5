import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Adapter } from '../../src/model/adapter-hook';
import { calibrateLogitScale, LOGIT_SCALE_GRID, scaledCrossEntropy } from '../../src/meta/logit-scale';
import type { FeatureModel } from '../../src/meta/feature-model';
import type { SurrogateSet } from '../../src/surrogate/set';
import { SeededRandom } from '../../src/random/seeded-random';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('cpu');
});

/** Features = flattened image × `gain`: the same geometry at any distance scale. */
const scaledModel = (gain: number): FeatureModel => ({
  forward: (images) => ({ features: tf.mul(tf.reshape(images, [images.shape[0], -1]), gain) as tf.Tensor2D }),
});

/** 3 classes × 4 images, each image its class's centre plus noise of the same size (classes overlap). */
function overlappingSet(seed: number): SurrogateSet {
  const random = new SeededRandom(seed);
  const values: number[] = [];
  const targets: number[] = [];
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 4; i++) {
      for (let k = 0; k < 12; k++) values.push((k % 3 === c ? 1 : 0) + 0.8 * (random.next() - 0.5));
      targets.push(c);
    }
  }
  return {
    images: tf.tensor4d(values, [12, 2, 2, 3]),
    targets,
    keptPatches: null,
    teacher: { adapter: null as unknown as Adapter, head: { apply: (f) => f } },
  };
}

describe('logit scale', () => {
  it('computes the mean cross-entropy of softmax(s · logits) (hand computation)', () => {
    // row 1: logits [0, −ln 3] at s = 1 → p(label 0) = 1 / (1 + 1/3) = 0.75; row 2 at label 1 → 0.25
    const logits = [
      [0, -Math.log(3)],
      [0, -Math.log(3)],
    ];
    expect(scaledCrossEntropy(logits, [0, 1], 1)).toBeCloseTo((-Math.log(0.75) - Math.log(0.25)) / 2, 12);
    expect(scaledCrossEntropy(logits, [0, 1], 0)).toBeCloseTo(Math.log(2), 12);
  });

  it('calibrates to the distances: features 100× larger give a 100× smaller scale', () => {
    const sets = [overlappingSet(1), overlappingSet(2)];
    const shape = { ways: 3, shots: 1, queries: 3 };
    const adapter = null as unknown as Adapter;
    const before = tf.memory().numTensors;
    const near = calibrateLogitScale(scaledModel(1), adapter, sets, shape, 1, 'euclidean', 7);
    const far = calibrateLogitScale(scaledModel(100), adapter, sets, shape, 1, 'euclidean', 7);
    expect(tf.memory().numTensors).toBe(before);
    expect(LOGIT_SCALE_GRID).toContain(near);
    expect(near).toBeGreaterThan(LOGIT_SCALE_GRID[0]); // an interior optimum: the classes overlap
    expect(near).toBeLessThan(LOGIT_SCALE_GRID[LOGIT_SCALE_GRID.length - 1]);
    expect(far / near).toBeCloseTo(0.01, 5);
    sets.forEach((s) => s.images.dispose());
  });
});
