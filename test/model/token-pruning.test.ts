import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors';
import { VisionTransformer, clsAttentionScores, tokensAfterPruning } from '../../src/model';
import { TEST_VIT } from './tiny-config';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

const x = () => tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 21) as tf.Tensor4D;

describe('token pruning (method.md §1.4)', () => {
  it('drops ⌊ρ·n⌋ patch tokens per pruning layer, ratios compounding, [CLS] always kept', () => {
    const model = VisionTransformer.random(TEST_VIT, 1);
    const out = model.forward(x(), { returnAttention: true, pruning: { 0: 0.25, 1: 0.5 } });
    // 16 → 12 after layer 0, → 6 after layer 1; attention of a layer sees its input tokens
    expect(out.attentions!.map((a) => a.shape[2])).toEqual([17, 13, 7]);
    expect(out.keptPatches.shape).toEqual([3, 6]);
    expect(tokensAfterPruning(16, 0.25)).toBe(12);
    expect(tokensAfterPruning(7, 0.5)).toBe(4);
    model.dispose();
  });

  it('keeps exactly the patches with the highest mean-over-heads [CLS] attention', () => {
    const model = VisionTransformer.random(TEST_VIT, 2);
    const images = x();
    const plain = model.forward(images, { returnAttention: true });
    const scores = clsAttentionScores(plain.attentions![TEST_VIT.depth - 1]).arraySync();
    const pruned = model.forward(images, { pruning: { [TEST_VIT.depth - 1]: 0.75 } });
    const kept = pruned.keptPatches.arraySync();
    scores.forEach((row, b) => {
      const expected = row
        .map((s, i) => [s, i])
        .sort((p, q) => q[0] - p[0])
        .slice(0, 4)
        .map((p) => p[1])
        .sort((p, q) => p - q);
      expect(kept[b]).toEqual(expected);
    });
    model.dispose();
  });

  it('pruning in the last layer uses the pre-LN residual: it equals a sparse forward of the survivors through the MLP', () => {
    // With pruning only in the last layer, the features depend on the survivors only via the MLP and [CLS]:
    // [CLS] output = x_cls + MLP(LN2(x_cls)) is the same whether or not other tokens were dropped.
    const model = VisionTransformer.random(TEST_VIT, 3);
    const images = x();
    const last = TEST_VIT.depth - 1;
    const full = model.forward(images).features;
    const pruned = model.forward(images, { pruning: { [last]: 0.5 } }).features;
    expect(tf.max(tf.abs(tf.sub(full, pruned))).dataSync()[0]).toBeLessThan(1e-5);
    // pruning an earlier layer does change the result
    const early = model.forward(images, { pruning: { 0: 0.5 } }).features;
    expect(tf.max(tf.abs(tf.sub(full, early))).dataSync()[0]).toBeGreaterThan(1e-4);
    model.dispose();
  });

  it('rejects ratios outside [0, 1) and layers outside the model', () => {
    const model = VisionTransformer.random(TEST_VIT, 4);
    expect(() => model.forward(x(), { pruning: { 1: 1 } })).toThrow(ConfigError);
    expect(() => model.forward(x(), { pruning: { 7: 0.5 } })).toThrow(/block index/);
    model.dispose();
  });
});
