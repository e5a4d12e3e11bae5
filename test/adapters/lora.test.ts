import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LoRA, mergeAdapter, unmergeAdapter } from '../../src/adapters';
import { ConfigError, ShapeError } from '../../src/errors';
import { LinearHead, VisionTransformer, mapTree, treeTensors } from '../../src/model';
import { TEST_VIT } from '../model/tiny-config';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

const images = () => tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** A LoRA whose B factors are random, so that ΔW ≠ 0. */
function activeLora(seed: number, alpha?: number): LoRA {
  const fresh = LoRA.create(TEST_VIT, { seed, alpha });
  const params = fresh.toParameters();
  fresh.dispose();
  params.factors = params.factors.map((f, i) => ({
    ...f,
    b: tf.randomNormal(f.b.shape, 0, 0.3, 'float32', seed * 100 + i) as tf.Tensor2D,
  }));
  return LoRA.fromParameters(params, { trainable: true });
}

describe('LoRA', () => {
  it('targets q and v of every block with rank 4 by default; A is Kaiming-uniform and B zero', () => {
    const lora = LoRA.create(TEST_VIT, { seed: 1 });
    expect(lora.sites.map((s) => `${s.layer}.${s.projection}`)).toEqual(['0.q', '0.v', '1.q', '1.v', '2.q', '2.v']);
    const { a, b } = lora.factorsAt({ layer: 1, projection: 'v' })!;
    expect(a.shape).toEqual([12, 4]);
    expect(tf.max(tf.abs(a)).dataSync()[0]).toBeLessThanOrEqual(1 / Math.sqrt(12));
    expect(tf.max(tf.abs(a)).dataSync()[0]).toBeGreaterThan(0.5 / Math.sqrt(12));
    expect(tf.sum(tf.abs(b)).dataSync()[0]).toBe(0);
    expect(lora.parameterCount()).toBe(6 * (12 * 4 + 4 * 12));
    lora.dispose();
  });

  it('a fresh LoRA leaves the model unchanged; an active one changes it', () => {
    const model = VisionTransformer.random(TEST_VIT, 1);
    const fresh = LoRA.create(TEST_VIT, { seed: 2 });
    const active = activeLora(3);
    const x = images();
    const base = model.forward(x).features;
    expect(maxAbsDiff(model.forward(x, { adapter: fresh }).features, base)).toBe(0);
    expect(maxAbsDiff(model.forward(x, { adapter: active }).features, base)).toBeGreaterThan(1e-3);
    model.dispose();
  });

  it('scales by α/r when alpha is given (PEFT convention)', () => {
    const lora = activeLora(4, 8);
    expect(lora.scale).toBe(2);
    const site = { layer: 0, projection: 'q' as const };
    const { a, b } = lora.factorsAt(site)!;
    expect(maxAbsDiff(lora.deltaWeight(site)!, tf.mul(tf.matMul(a, b), 2))).toBeLessThan(1e-6);
    lora.dispose();
  });

  it('merging equals the adapted forward, and unmerging restores the weights', () => {
    const model = VisionTransformer.random(TEST_VIT, 5);
    const lora = activeLora(6);
    const x = images();
    const merged = new VisionTransformer(TEST_VIT, mergeAdapter(model.weights, lora));
    expect(maxAbsDiff(merged.forward(x).features, model.forward(x, { adapter: lora }).features)).toBeLessThan(1e-5);
    const restored = unmergeAdapter(merged.weights, lora);
    const original = treeTensors(model.weights);
    treeTensors(restored).forEach((t, i) => expect(maxAbsDiff(t, original[i])).toBeLessThan(1e-5));
    model.dispose();
    merged.dispose();
  });

  it('round-trips through its parameters, and rejects inconsistent factor shapes', () => {
    const lora = activeLora(7);
    const copy = LoRA.fromParameters(lora.toParameters());
    const site = { layer: 2, projection: 'v' as const };
    expect(maxAbsDiff(copy.deltaWeight(site)!, lora.deltaWeight(site)!)).toBe(0);
    expect(copy.trainableVariables()).toHaveLength(0);
    const params = lora.toParameters();
    params.factors[0].a = tf.zeros([12, 3]);
    expect(() => LoRA.fromParameters(params)).toThrow(ShapeError);
    expect(() => LoRA.create(TEST_VIT, { targets: ['x' as never] })).toThrow(ConfigError);
  });

  it('keeps the tensor count flat over 100 training steps of LoRA + head', () => {
    const model = VisionTransformer.random(TEST_VIT, 8);
    const lora = LoRA.create(TEST_VIT, { seed: 9 });
    const head = LinearHead.create(TEST_VIT.projectionDim, 3, 1);
    const optimizer = tf.train.adam(1e-2);
    const x = images();
    const labels = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3);
    const variables = [...lora.trainableVariables(), ...head.trainableVariables()];
    const step = () =>
      tf.tidy(
        () =>
          optimizer
            .minimize(
              () =>
                tf.losses.softmaxCrossEntropy(
                  labels,
                  head.apply(model.forward(x, { adapter: lora, pruning: { 1: 0.5 } }).features),
                ) as tf.Scalar,
              true,
              variables,
            )!
            .dataSync()[0],
      );
    const first = step(); // creates the optimiser's moment slots
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 100; i++) last = step();
    expect(tf.memory().numTensors).toBe(before);
    expect(last).toBeLessThan(first);
    model.dispose();
  });
});

describe('weights helpers', () => {
  it('mapTree with clone makes an independent copy', () => {
    const model = VisionTransformer.random(TEST_VIT, 10);
    const copy = mapTree(model.weights, (t) => t.clone());
    model.dispose();
    expect(() => treeTensors(copy).map((t) => t.dataSync())).not.toThrow();
  });
});
