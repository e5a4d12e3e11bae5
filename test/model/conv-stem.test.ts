import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LoRA } from '../../src/adapters';
import { ConfigError, ShapeError } from '../../src/errors';
import { saveHfClipVision } from '../../src/io/hf-clip';
import { convStemRows } from '../../src/model/conv-stem';
import { patchEmbeddingInputs, type ViTConfig, validateViTConfig } from '../../src/model/config';
import { randomViTWeights } from '../../src/model/init';
import { treeTensors, variablesOf } from '../../src/model/tensor-tree';
import { VisionTransformer } from '../../src/model/vision-transformer';
import { expectAllClose, expectNoLeak } from '../ops/helpers';
import { TEST_VIT, ZOO_TEST_VIT } from './tiny-config';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

/** ZOO_TEST_VIT (8×8, patch 4 → 2×2 patches) with two conv stages of 5 and 7 channels. */
const STEM_VIT: ViTConfig = { ...ZOO_TEST_VIT, convStem: [5, 7] };

function images(batch: number, seed = 3): tf.Tensor4D {
  return tf.randomNormal([batch, 8, 8, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
}

/** The stem written with tfjs' own conv2d and avgPool and QuickGELU spelled out: x·σ(1.702·x). */
function referenceStem(x: tf.Tensor4D, stem: { kernel: tf.Tensor4D; bias: tf.Tensor1D }[]): tf.Tensor2D {
  let y = x;
  for (const { kernel, bias } of stem) {
    const z = tf.add(tf.conv2d(y, kernel, 1, 'same'), bias) as tf.Tensor4D;
    y = tf.avgPool(tf.mul(z, tf.sigmoid(tf.mul(1.702, z))) as tf.Tensor4D, 2, 2, 'valid');
  }
  const [b, h, w, c] = y.shape;
  return tf.reshape(y, [b * h * w, c]);
}

describe('conv stem (ViTConfig.convStem)', () => {
  it('is 3×3 convolutions with bias, QuickGELU and 2×2 mean pools, one row per patch in row-major order', () => {
    const weights = randomViTWeights(STEM_VIT, 1);
    tf.tidy(() => {
      const stem = weights.stem!.map((s, i) => ({ kernel: s.kernel, bias: tf.fill(s.bias.shape, 0.1 * (i + 1)) as tf.Tensor1D }));
      const x = images(2);
      const rows = convStemRows(x, stem);
      expect(rows.shape).toEqual([2 * 4, 7]);
      expectAllClose([rows], [referenceStem(x, stem)], 1e-5);
      // row 1 of image 0 is the top-right patch: the only row that changes with the top-right pixel
      // (the stem's receptive field around pixel (0, 7) stays inside that patch)
      const poked = tf.add(
        x,
        tf.pad(tf.ones([1, 1, 1, 3]), [
          [0, 1],
          [0, 7],
          [7, 0],
          [0, 0],
        ]),
      );
      const changed = tf.any(tf.greater(tf.abs(tf.sub(convStemRows(poked as tf.Tensor4D, stem), rows)), 1e-6), 1).arraySync();
      expect(changed).toEqual([0, 1, 0, 0, 0, 0, 0, 0]);
    });
    treeTensors(weights).forEach((t) => t.dispose());
  });

  it('feeds the transformer: features per image, sparse tokens with every position equal the dense forward, pruning keeps the grid', () => {
    const model = VisionTransformer.random(STEM_VIT, 2);
    expect(model.weights.patchEmbedding.shape).toEqual([7, STEM_VIT.width]);
    const x = images(3);
    const dense = model.forward(x).features;
    expect(dense.shape).toEqual([3, STEM_VIT.projectionDim]);
    const all = tf.tensor2d([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3], [3, 4], 'int32');
    expectAllClose([model.forward(x, { patchPositions: all }).features], [dense], 1e-5);
    const single = model.forward(tf.slice(x, [1, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D).features;
    expectAllClose([tf.slice(dense, [1, 0], [1, -1])], [single], 1e-5);
    const pruned = model.forward(x, { pruning: { 0: 0.5 } });
    expect(pruned.keptPatches.shape).toEqual([3, 2]);
    tf.dispose([x, dense, all, single, pruned.features, pruned.keptPatches]);
    model.dispose();
  });

  it('differs from the patch embedding of the same seed, and a LoRA adapts it as any backbone', () => {
    const stemModel = VisionTransformer.random(STEM_VIT, 4);
    const plain = VisionTransformer.random(ZOO_TEST_VIT, 4);
    const lora = LoRA.create(STEM_VIT, { rank: 2, targets: ['q', 'v'], seed: 5 });
    tf.tidy(() => {
      const x = images(2);
      const base = stemModel.forward(x).features;
      expect(tf.max(tf.abs(tf.sub(base, plain.forward(x).features))).dataSync()[0]).toBeGreaterThan(1e-3);
      lora.trainableVariables().forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 10 + i)));
      expect(tf.max(tf.abs(tf.sub(stemModel.forward(x, { adapter: lora }).features, base))).dataSync()[0]).toBeGreaterThan(1e-4);
    });
    lora.dispose();
    stemModel.dispose();
    plain.dispose();
  });

  it('passes gradients to the pixels and to every stem kernel, without leaking tensors', () => {
    const model = new VisionTransformer(STEM_VIT, variablesOf(VisionTransformer.random(STEM_VIT, 6).weights));
    const pixels = tf.variable(images(2));
    const stemKernels = model.weights.stem!.map((s) => s.kernel as tf.Variable);
    const step = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(model.forward(pixels).features)) as tf.Scalar, [pixels, ...stemKernels]);
        for (const g of Object.values(grads)) {
          const size = tf.max(tf.abs(g)).dataSync()[0];
          expect(Number.isFinite(size) && size > 0).toBe(true);
        }
      });
    step();
    expectNoLeak(step);
    pixels.dispose();
    model.dispose();
  });

  it('names a stem that does not fit the patch size, and weights that do not fit the stem', () => {
    expect(() => validateViTConfig({ ...STEM_VIT, convStem: [5] })).toThrow(
      /one stage per halving of patchSize \(4: 2 stages\), found \[5\]/,
    );
    expect(() => validateViTConfig({ ...TEST_VIT, patchSize: 3, imageSize: 9, convStem: [4] })).toThrow(/not a power of 2/);
    expect(() => validateViTConfig({ ...STEM_VIT, convStem: [5, 0] })).toThrow(ConfigError);
    expect(patchEmbeddingInputs(STEM_VIT)).toBe(7);
    expect(patchEmbeddingInputs(ZOO_TEST_VIT)).toBe(4 * 4 * 3);
    const plainWeights = randomViTWeights(ZOO_TEST_VIT, 7);
    expect(() => new VisionTransformer(STEM_VIT, plainWeights)).toThrow(/asks for 2 conv stem stages, found 0/);
    const stemWeights = randomViTWeights({ ...STEM_VIT, convStem: [5, 6] }, 7);
    expect(() => new VisionTransformer(STEM_VIT, stemWeights)).toThrow(ShapeError);
    expect(() => new VisionTransformer(STEM_VIT, stemWeights)).toThrow(/stem\.1\.kernel must be \[3,3,5,7\], found \[3,3,5,6\]/);
    [plainWeights, stemWeights].forEach((w) => treeTensors(w).forEach((t) => t.dispose()));
  });

  it('refuses to be written as a CLIP checkpoint, which has no place for it, and leaves no file', () => {
    const model = VisionTransformer.random(STEM_VIT, 8);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conv-stem-'));
    try {
      expect(() => saveHfClipVision(dir, STEM_VIT, model.weights)).toThrow(/conv stem .* has no CLIP checkpoint layout/);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });
});
