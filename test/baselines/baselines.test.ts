import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LearnedComposition, LoRA, UniformComposition } from '../../src/adapters';
import { evaluateMethod, METHOD_NAMES } from '../../src/baselines';
import { ConfigError } from '../../src/errors';
import type { EpisodeSource, EpisodeTensors } from '../../src/data';
import { episodeAccuracy } from '../../src/evaluation';
import { LinearHead, VisionTransformer } from '../../src/model';
import { fitOnSupport } from '../../src/training';
import { ZOO_TEST_VIT } from '../model/tiny-config';
import { useTestBackend } from '../test-backend';

let backbone: VisionTransformer;
let zoo: ReturnType<LoRA['toParameters']>[];

/** 3-way 2-shot 3-query episodes: class c = its own fixed pattern plus noise. */
function episodes(count: number): EpisodeSource {
  return {
    count,
    episode: (i) => {
      const patterns = tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 100 + i);
      const make = (perClass: number, seed: number) => {
        const labels = Array.from({ length: 3 * perClass }, (_, j) => Math.floor(j / perClass));
        const images = tf.tidy(
          () =>
            tf.add(
              tf.gather(patterns, tf.tensor1d(labels, 'int32')),
              tf.randomNormal([labels.length, 8, 8, 3], 0, 0.3, 'float32', seed),
            ) as tf.Tensor4D,
        );
        return { images, labels };
      };
      const s = make(2, 200 + i);
      const q = make(3, 300 + i);
      patterns.dispose();
      const episode: EpisodeTensors = { support: s.images, supportLabels: s.labels, query: q.images, queryLabels: q.labels };
      return episode;
    },
  };
}

/** A pre-tuned-looking LoRA: random A and non-zero B. */
function randomLora(seed: number): ReturnType<LoRA['toParameters']> {
  const lora = LoRA.create(ZOO_TEST_VIT, { seed });
  const p = lora.toParameters();
  lora.dispose();
  return {
    ...p,
    factors: p.factors.map((f, i) => ({ ...f, b: tf.randomNormal(f.b.shape, 0, 0.2, 'float32', seed * 10 + i) as tf.Tensor2D })),
  };
}

beforeAll(async () => {
  await useTestBackend('cpu');
  backbone = VisionTransformer.random(ZOO_TEST_VIT, 3);
  zoo = [randomLora(1), randomLora(2), randomLora(3)];
});

const options = { tuning: { steps: 3, learningRate: 1e-2 }, fullTuning: { steps: 2, learningRate: 1e-3 } };

describe('baselines on identical episodes', () => {
  it('runs every method, each accuracy a fraction of the queries', async () => {
    const metaLora = LoRA.create(ZOO_TEST_VIT, { seed: 9 });
    for (const name of METHOD_NAMES) {
      const result = await evaluateMethod(name, { backbone, zoo, metaLora }, episodes(2), options);
      expect(result.accuracies).toHaveLength(2);
      result.accuracies.forEach((a) => expect(Math.abs(a * 9 - Math.round(a * 9))).toBeLessThan(1e-9)); // 9 queries
      expect(result.mean).toBeGreaterThanOrEqual(0);
      expect(result.mean).toBeLessThanOrEqual(1);
    }
  });

  it('NN equals tuning-free prototype accuracy of the frozen backbone, and a fresh meta-LoRA (B = 0) changes nothing', async () => {
    const source = episodes(3);
    const expected = [0, 1, 2].map((i) => episodeAccuracy((x) => backbone.forward(x).features, source.episode(i)));
    const nn = await evaluateMethod('nn', { backbone, zoo }, source, options);
    expect(nn.accuracies).toEqual(expected);
    const fresh = await evaluateMethod(
      'lora-recycle',
      { backbone, zoo, metaLora: LoRA.create(ZOO_TEST_VIT, { seed: 4 }) },
      source,
      options,
    );
    expect(fresh.accuracies).toEqual(expected);
  });

  it('learned composition starts exactly at the uniform composition', () => {
    const images = episodes(1).episode(0).query;
    const uniform = UniformComposition.create(zoo);
    const learned = LearnedComposition.create(zoo);
    const a = backbone.forward(images, { adapter: uniform }).features.dataSync();
    const b = backbone.forward(images, { adapter: learned }).features.dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('fitOnSupport lowers the support loss', () => {
    const e = episodes(1).episode(0);
    const head = LinearHead.create(ZOO_TEST_VIT.projectionDim, 3, 1);
    const features = backbone.forward(e.support).features;
    const loss = () =>
      tf.tidy(
        () =>
          tf.losses
            .softmaxCrossEntropy(tf.oneHot(tf.tensor1d([...(e.supportLabels as number[])], 'int32'), 3), head.apply(features))
            .dataSync()[0],
      );
    const before = loss();
    const asImages = tf.reshape(features, [6, 16, 1, 1]) as tf.Tensor4D;
    fitOnSupport(
      head.trainableVariables(),
      (x) => head.apply(tf.reshape(x, [6, 16]) as tf.Tensor2D),
      asImages,
      e.supportLabels as number[],
      { steps: 20, learningRate: 0.05 },
    );
    expect(loss()).toBeLessThan(before);
  });

  it('rejects an unknown method and LoRA Recycle without a meta-LoRA', async () => {
    await expect(evaluateMethod('magic', { backbone, zoo }, episodes(1))).rejects.toThrow(ConfigError);
    await expect(evaluateMethod('lora-recycle', { backbone, zoo }, episodes(1))).rejects.toThrow(/needs a meta-LoRA/);
  });

  it('leaves the tensor count flat across episodes for every method', async () => {
    const metaLora = LoRA.create(ZOO_TEST_VIT, { seed: 9 });
    for (const name of METHOD_NAMES) {
      await evaluateMethod(name, { backbone, zoo, metaLora }, episodes(1), options);
      const before = tf.memory().numTensors;
      await evaluateMethod(name, { backbone, zoo, metaLora }, episodes(3), options);
      expect({ name, tensors: tf.memory().numTensors }).toEqual({ name, tensors: before });
    }
  });
});
