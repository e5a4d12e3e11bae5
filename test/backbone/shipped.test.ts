import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initWasmBackend } from '../../src/backend/wasm';
import { assetPath, backboneFeatures, evaluateFrozenFeatures, loadShippedBackbone } from '../../src/backbone';
import { classesOf, toTensor } from '../../src/data/dataset';
import { loadEmojiDataset } from '../../src/data/emoji';
import { sampleEpisodes } from '../../src/data/episodes';
import { loadGlyphDataset } from '../../src/data/glyphs';
import { meanWithInterval, rawPixelFeatures } from '../../src/evaluation';
import { TINY_VIT, normalizeImages } from '../../src/model';
import { PRIOR_CNN, bnPriorLoss, loadShippedPrior } from '../../src/prior';

/**
 * NN (frozen backbone + prototypes) minus raw-pixel prototypes, novel emoji 5-way 1-shot,
 * 15 queries, measured on 600 episodes of seed 2026 (assets/backbone/evaluation.json,
 * MODEL_CARD.md): −0.16 ± 1.10 points. The shipped backbone (6 epochs, 49 min on a shared
 * CPU) does NOT yet beat raw pixels, it ties them; this test guards the measured margin, to be
 * raised to a positive one when a longer-trained backbone is shipped.
 */
const MEASURED_MARGIN = -0.0016;
/**
 * The test uses the first 100 of those episodes (the sampler draws them in order), whose mean
 * differs from the 600-episode one by sampling: the tolerance is three standard errors of a
 * 100-episode mean of the paired per-episode differences (std 0.138 / √100 ≈ 0.014).
 */
const TOLERANCE = 0.04;

beforeAll(async () => {
  await initWasmBackend();
});

describe('the shipped backbone and image prior', () => {
  it('loads the backbone with the TINY_VIT configuration and gives finite projected features', () => {
    expect(fs.existsSync(assetPath('backbone', 'config.json'))).toBe(true);
    const backbone = loadShippedBackbone();
    expect(backbone.config).toEqual(TINY_VIT);
    const features = tf.tidy(() => backbone.forward(normalizeImages(tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D)).features);
    expect(features.shape).toEqual([2, TINY_VIT.projectionDim]);
    expect(Array.from(features.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose(features);
    backbone.dispose();
  });

  it('loads the prior with trained running statistics that fit its glyph domain better than noise', async () => {
    const prior = loadShippedPrior();
    const glyphs = await loadGlyphDataset();
    expect({ ...prior.config, classes: 0 }).toEqual(PRIOR_CNN);
    expect(prior.config.classes).toBe(classesOf(glyphs, 'base').length);
    for (const block of prior.weights.blocks) {
      const variance = block.batchNorm.runningVariance.dataSync();
      expect(Array.from(variance).every((v) => v > 0)).toBe(true);
      expect(Array.from(block.batchNorm.runningMean.dataSync()).some((m) => Math.abs(m) > 1e-3)).toBe(true); // moved from the initial 0
    }
    const records = classesOf(glyphs, 'base').slice(0, 32).map((c) => glyphs.imagesOf(c.id)[0]);
    const rBn = tf.tidy(() => {
      const glyphBatch = toTensor(glyphs, records);
      const noise = normalizeImages(tf.randomUniform(glyphBatch.shape, 0, 1, 'float32', 2) as tf.Tensor4D);
      return [bnPriorLoss(glyphBatch, prior).dataSync()[0], bnPriorLoss(noise, prior).dataSync()[0]];
    });
    expect(rBn[0]).toBeLessThan(rBn[1] / 2);
    prior.dispose();
  });

  it(`keeps its measured margin over raw-pixel prototypes on novel emoji 5-way 1-shot episodes, less ${TOLERANCE}`, async () => {
    const emoji = await loadEmojiDataset();
    const list = sampleEpisodes(emoji, 'novel', { ways: 5, shots: 1, queries: 15, count: 100, seed: 2026 });
    const backbone = loadShippedBackbone();
    const nn = await evaluateFrozenFeatures(emoji, list, backboneFeatures(backbone));
    const raw = await evaluateFrozenFeatures(emoji, list, rawPixelFeatures);
    backbone.dispose();
    const difference = meanWithInterval(nn.accuracies.map((a, i) => a - raw.accuracies[i]));
    expect(difference.mean).toBeGreaterThan(MEASURED_MARGIN - TOLERANCE);
  }, 180_000);
});
