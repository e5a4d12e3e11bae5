import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LoRA } from '../../src/adapters';
import { VisionTransformer, type Adapter } from '../../src/model';
import { TEST_VIT } from './tiny-config';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

/** A LoRA with random B (ΔW ≠ 0) and α ≠ r (scale ≠ 1). */
function activeLora(): LoRA {
  const fresh = LoRA.create(TEST_VIT, { seed: 3, alpha: 8 });
  const params = fresh.toParameters();
  fresh.dispose();
  params.factors = params.factors.map((f, i) => ({ ...f, b: tf.randomNormal(f.b.shape, 0, 0.3, 'float32', 50 + i) as tf.Tensor2D }));
  return LoRA.fromParameters(params, { trainable: true });
}

/** The same LoRA seen only through `apply` (no lowRankFactors): the unfused x·W + b + x·ΔW path. */
function applyOnly(lora: LoRA): Adapter {
  return {
    kind: 'lora-apply-only',
    sites: lora.sites,
    apply: (s, x) => lora.apply(s, x),
    deltaWeight: (s) => lora.deltaWeight(s),
    trainableVariables: () => lora.trainableVariables(),
    parameterCount: () => lora.parameterCount(),
    regularizer: () => null,
    dispose: () => {},
  };
}

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(1e-6, tf.max(tf.abs(b)).dataSync()[0]));
}

/** Features, gradients w.r.t. the LoRA factors and w.r.t. the pixels of Σ features·r. */
function valueAndGrads(model: VisionTransformer, adapter: Adapter, x: tf.Tensor4D, returnAttention: boolean): tf.Tensor[] {
  return tf.tidy(() => {
    const r = tf.randomNormal([x.shape[0], TEST_VIT.projectionDim], 0, 1, 'float32', 11);
    const loss = (images: tf.Tensor4D) => tf.sum(tf.mul(model.forward(images, { adapter, returnAttention }).features, r)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(() => loss(x), adapter.trainableVariables());
    const pixels = tf.grad((images: tf.Tensor) => loss(images as tf.Tensor4D))(x);
    return [model.forward(x, { adapter }).features, value, ...adapter.trainableVariables().map((v) => grads[v.name]), pixels];
  });
}

describe('VisionTransformer fast paths', () => {
  it('the last block on [CLS] only gives the features and gradients of the full last block', () => {
    const model = VisionTransformer.random(TEST_VIT, 1);
    const lora = activeLora();
    const x = tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const clsOnly = valueAndGrads(model, lora, x, false);
    const full = valueAndGrads(model, lora, x, true); // attention weights wanted: every token runs the last block
    clsOnly.forEach((t, i) => expect(maxRelDiff(t, full[i]), `output ${i}`).toBeLessThan(1e-5));
    tf.dispose([...clsOnly, ...full, x]);
    lora.dispose();
    model.dispose();
  });

  it('a LoRA fused into the projections (lowRankFactors) equals the x·W + b + x·ΔW path', () => {
    const model = VisionTransformer.random(TEST_VIT, 4);
    const lora = activeLora();
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const fused = valueAndGrads(model, lora, x, false);
    const unfused = valueAndGrads(model, applyOnly(lora), x, false);
    expect(maxRelDiff(fused[0], tf.zeros(fused[0].shape))).toBeGreaterThan(0);
    fused.forEach((t, i) => expect(maxRelDiff(t, unfused[i]), `output ${i}`).toBeLessThan(1e-5));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(valueAndGrads(model, lora, x, false));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...fused, ...unfused, x]);
    lora.dispose();
    model.dispose();
  });
});
