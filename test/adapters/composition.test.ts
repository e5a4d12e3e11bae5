import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LearnedComposition, LoRA, UniformComposition, type LoraParameters } from '../../src/adapters';
import { CompatibilityError } from '../../src/errors';
import { VisionTransformer } from '../../src/model';
import { TEST_VIT } from '../model/tiny-config';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

function randomParameters(seed: number, rank = 4): LoraParameters {
  const lora = LoRA.create(TEST_VIT, { seed, rank });
  const params = lora.toParameters();
  lora.dispose();
  params.factors = params.factors.map((f, i) => ({ ...f, b: tf.randomNormal(f.b.shape, 0, 0.3, 'float32', seed * 10 + i) as tf.Tensor2D }));
  return params;
}

describe('LoRA composition (Asadi et al., method.md §2)', () => {
  const parts = [randomParameters(1), randomParameters(2), randomParameters(3)];

  it('uniform composition averages the products A·B, not the factors', () => {
    const uniform = UniformComposition.create(parts);
    const site = { layer: 1, projection: 'q' as const };
    const expected = tf.div(
      tf.addN(
        parts.map((p) => {
          const f = p.factors.find((g) => g.site.layer === 1 && g.site.projection === 'q')!;
          return tf.matMul(f.a, f.b);
        }),
      ),
      3,
    );
    expect(maxAbsDiff(uniform.deltaWeight(site)!, expected)).toBeLessThan(1e-6);
    const avgA = tf.div(tf.addN(parts.map((p) => p.factors[2].a)), 3);
    const avgB = tf.div(tf.addN(parts.map((p) => p.factors[2].b)), 3);
    expect(maxAbsDiff(uniform.deltaWeight(site)!, tf.matMul(avgA, avgB))).toBeGreaterThan(1e-4);
    expect(uniform.trainableVariables()).toHaveLength(0);
    uniform.dispose();
  });

  it('learned composition starts exactly at the uniform one and trains only its per-layer weights', () => {
    const model = VisionTransformer.random(TEST_VIT, 4);
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const uniform = UniformComposition.create(parts);
    const learned = LearnedComposition.create(parts);
    expect(maxAbsDiff(model.forward(x, { adapter: learned }).features, model.forward(x, { adapter: uniform }).features)).toBe(0);
    expect(learned.weights()).toEqual(Array.from({ length: 3 }, () => [1 / 3, 1 / 3, 1 / 3].map((v) => Math.fround(v))));
    expect(learned.parameterCount()).toBe(TEST_VIT.depth * 3);
    const optimizer = tf.train.adam(0.1);
    for (let i = 0; i < 5; i++)
      optimizer.minimize(() => tf.sum(model.forward(x, { adapter: learned }).features) as tf.Scalar, false, learned.trainableVariables());
    const after = learned.weights();
    expect(after[0][0]).not.toBeCloseTo(1 / 3, 3);
    after.forEach((row) => expect(row.reduce((a, b) => a + b)).toBeCloseTo(1, 5));
    model.dispose();
  });

  it('rejects LoRAs with other targets, ranks or backbones', () => {
    const otherTargets = LoRA.create(TEST_VIT, { targets: ['q', 'k'] });
    expect(() => UniformComposition.create([parts[0], otherTargets.toParameters()])).toThrow(/adapts sites/);
    expect(() => LearnedComposition.create([parts[0], randomParameters(5, 2)])).toThrow(/rank 2/);
    const wider = LoRA.create({ ...TEST_VIT, width: 16, mlpWidth: 32 });
    expect(() => UniformComposition.create([parts[0], wider.toParameters()])).toThrow(CompatibilityError);
    expect(() => UniformComposition.create([])).toThrow(CompatibilityError);
  });
});
