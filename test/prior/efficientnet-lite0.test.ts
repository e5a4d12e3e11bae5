import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend';
import { FileFormatError, MissingResourceError, ShapeError } from '../../src/errors';
import { writeSafetensors } from '../../src/io/safetensors';
import {
  bilinearMatrix,
  bnPriorLoss,
  depthwiseConvSame,
  EFFICIENTNET_PRIOR_FORMAT,
  EfficientNetLite0,
  efficientNetShapes,
  loadEfficientNetPrior,
  loadPrior,
  PriorCnn,
  resizeBilinear,
  samePadding,
  savePrior,
} from '../../src/prior';
import { useTestBackend } from '../test-backend';

let root = '';
let file = ''; // an EfficientNet-Lite0 prior file with random weights

/** Random weights of the right shapes: O(1) activations, positive running variances. */
function randomNamedWeights(seed: number): Record<string, tf.Tensor> {
  return tf.tidy(() =>
    Object.fromEntries(
      Object.entries(efficientNetShapes()).map(([name, shape], i) => {
        const fanIn = shape.length === 4 ? shape[0] * shape[1] * (name.includes('depthwise') ? 1 : shape[2]) : shape[0];
        if (name.endsWith('runningVariance')) return [name, tf.randomUniform(shape, 0.5, 2, 'float32', seed + i)];
        if (name.includes('batchNorm') || name.endsWith('bias')) return [name, tf.randomNormal(shape, 0, 0.1, 'float32', seed + i)];
        return [name, tf.randomNormal(shape, 0, Math.sqrt(1 / fanIn), 'float32', seed + i)];
      }),
    ),
  );
}

beforeAll(async () => {
  await useTestBackend('wasm');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'efficientnet-prior-'));
  file = path.join(root, 'efficientnet-lite0.safetensors');
  const named = randomNamedWeights(1);
  writeSafetensors(file, named, { format: EFFICIENTNET_PRIOR_FORMAT });
  tf.dispose(Object.values(named));
});

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('bilinear resize', () => {
  it('matches tf.image.resizeBilinear with half-pixel centres, down and up', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([2, 5, 7, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
      for (const [h, w] of [
        [12, 9],
        [3, 4],
      ]) {
        const stock = tf.image.resizeBilinear(x, [h, w], false, true);
        expect(tf.max(tf.abs(tf.sub(resizeBilinear(x, h, w), stock))).dataSync()[0]).toBeLessThan(1e-5);
      }
    });
  });

  it('has interpolation rows that sum to 1 and an exact (linear) gradient', () => {
    tf.tidy(() => {
      const sums = tf.sum(bilinearMatrix(5, 13), 1).dataSync();
      for (const s of sums) expect(s).toBeCloseTo(1, 6);
      const x = tf.randomNormal([1, 4, 6, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
      const r = tf.randomNormal([1, 9, 11, 2], 0, 1, 'float32', 4);
      const u = tf.randomNormal(x.shape, 0, 1, 'float32', 5) as tf.Tensor4D;
      const f = (a: tf.Tensor) => tf.sum(tf.mul(resizeBilinear(a as tf.Tensor4D, 9, 11), r));
      const directional = tf.sum(tf.mul(tf.grad(f)(x), u)).dataSync()[0];
      expect(directional).toBeCloseTo(f(u).dataSync()[0], 3);
    });
  });
});

describe('depthwise convolution with SAME padding', () => {
  it('pads as TensorFlow: output ⌈size / stride⌉, the odd cell after', () => {
    expect(samePadding(224, 3, 2)).toEqual([0, 1]);
    expect(samePadding(7, 5, 2)).toEqual([2, 2]);
    expect(samePadding(56, 5, 2)).toEqual([1, 2]);
    expect(samePadding(14, 5, 1)).toEqual([2, 2]);
  });

  it('gives the same values and input gradients on wasm (shifted slices) as tf.depthwiseConv2d on cpu', async () => {
    const cases = [
      { size: 7, k: 3, stride: 1 },
      { size: 7, k: 5, stride: 2 },
      { size: 8, k: 3, stride: 2 },
      { size: 6, k: 5, stride: 1 },
    ];
    const run = () =>
      cases.map(({ size, k, stride }, i) =>
        tf.tidy(() => {
          const x = tf.tensor4d(
            Array.from({ length: 2 * size * size * 3 }, (_, j) => Math.sin(j + i)),
            [2, size, size, 3],
          );
          const kernel = tf.tensor4d(
            Array.from({ length: k * k * 3 }, (_, j) => Math.cos(j * 0.7 + i)),
            [k, k, 3, 1],
          );
          const out = depthwiseConvSame(x, kernel, stride);
          const r = tf.tensor(
            Array.from({ length: out.size }, (_, j) => Math.sin(0.3 * j)),
            out.shape,
          );
          const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(depthwiseConvSame(a as tf.Tensor4D, kernel, stride), r)))(x);
          return { shape: out.shape, out: Array.from(out.dataSync()), grad: Array.from(grad.dataSync()) };
        }),
      );
    await selectBackend('cpu');
    const stock = run();
    await selectBackend('wasm');
    const shifted = run();
    await useTestBackend('wasm');
    shifted.forEach((s, i) => {
      expect(s.shape).toEqual(stock[i].shape);
      expect(s.shape[1]).toBe(Math.ceil(cases[i].size / cases[i].stride));
      s.out.forEach((v, j) => expect(v).toBeCloseTo(stock[i].out[j], 4));
      s.grad.forEach((v, j) => expect(v).toBeCloseTo(stock[i].grad[j], 4));
    });
  });
});

describe('EfficientNetLite0 prior', () => {
  it('gives ImageNet logits and the statistics of each of its 49 BatchNorm layers', () => {
    const prior = loadEfficientNetPrior(file, { resolution: 64 });
    tf.tidy(() => {
      const x = tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
      const { logits, statistics } = prior.forward(x);
      expect(logits.shape).toEqual([3, 1000]);
      expect(statistics).toHaveLength(49);
      const channels = [
        32,
        ...prior.weights.blocks.flatMap((b) => [b.expand, b.depthwise, b.project].filter((l) => l).map((l) => l?.batchNorm.gamma.shape[0])),
        1280,
      ];
      expect(statistics.map((s) => s.mean.shape[0])).toEqual(channels);
      for (const s of statistics) {
        expect(s.variance.shape).toEqual(s.mean.shape);
        expect(s.runningMean.shape).toEqual(s.mean.shape);
        expect(tf.min(s.variance).dataSync()[0]).toBeGreaterThanOrEqual(0);
      }
      expect(Number.isFinite(bnPriorLoss(x, prior).dataSync()[0])).toBe(true);
    });
    prior.dispose();
  });

  it('leaves the tensor count flat over repeated forwards and gradients of R_BN', () => {
    const prior = loadEfficientNetPrior(file, { resolution: 32 });
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const step = () =>
      tf.tidy(() =>
        tf
          .grad((a: tf.Tensor) => bnPriorLoss(a as tf.Tensor4D, prior))(x)
          .dataSync(),
      );
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    tf.dispose(prior.batchNormStatistics(x).flatMap((s) => [s.mean, s.variance]));
    expect(tf.memory().numTensors).toBe(before);
    prior.dispose();
    x.dispose();
  });

  it('refuses images of another size and settings that are not positive integers', () => {
    const prior = loadEfficientNetPrior(file, { resolution: 32 });
    expect(() => prior.forward(tf.zeros([1, 16, 16, 3]) as tf.Tensor4D)).toThrow(ShapeError);
    expect(() => new EfficientNetLite0(prior.weights, { resolution: 0 })).toThrow(/resolution must be a positive integer/);
    prior.dispose();
  });
});

describe('prior files', () => {
  it('loadPrior dispatches on metadata.format: EfficientNet-Lite0 or PriorCnn', () => {
    const efficientNet = loadPrior(file, { resolution: 32 });
    expect(efficientNet).toBeInstanceOf(EfficientNetLite0);
    expect(efficientNet.config).toMatchObject({ imageSize: 32, channels: 3 });
    efficientNet.dispose();
    const cnnFile = path.join(root, 'prior-cnn.safetensors');
    const cnn = PriorCnn.random({ imageSize: 8, channels: 3, widths: [4], classes: 2, batchNormEps: 1e-5 }, 1);
    savePrior(cnnFile, cnn);
    cnn.dispose();
    const loaded = loadPrior(cnnFile);
    expect(loaded).toBeInstanceOf(PriorCnn);
    loaded.dispose();
  });

  it('names the set-up command when the converted file is absent', () => {
    expect(() => loadEfficientNetPrior(path.join(root, 'absent.safetensors'))).toThrow(MissingResourceError);
    expect(() => loadEfficientNetPrior(path.join(root, 'absent.safetensors'))).toThrow(
      /scripts\/convert-efficientnet-prior\.py.*scripts\/setup\.sh/,
    );
  });

  it('rejects a file of another format, a missing tensor and a misshapen one, naming it', () => {
    const named = randomNamedWeights(2);
    const write = (name: string, tensors: Record<string, tf.Tensor>, format = EFFICIENTNET_PRIOR_FORMAT) => {
      const target = path.join(root, name);
      writeSafetensors(target, tensors, { format });
      return target;
    };
    expect(() => loadEfficientNetPrior(write('other.safetensors', named, 'lora-recycle/prior-cnn@1'))).toThrow(FileFormatError);
    const { 'blocks.3.depthwise.kernel': _dropped, ...missing } = named;
    expect(() => loadEfficientNetPrior(write('missing.safetensors', missing))).toThrow(/missing tensor "blocks.3.depthwise.kernel"/);
    const misshapen = { ...named, 'head.batchNorm.gamma': tf.zeros([12]) };
    expect(() => loadEfficientNetPrior(write('misshapen.safetensors', misshapen))).toThrow(
      /"head.batchNorm.gamma": expected shape \[1280\], found \[12\]/,
    );
    tf.dispose([...Object.values(named), misshapen['head.batchNorm.gamma']]);
  });
});
