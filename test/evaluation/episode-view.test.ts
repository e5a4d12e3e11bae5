import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { validateEpisode } from '../../src/display';
import { episodeAccuracy, episodeView, type EpisodeTensors } from '../../src/evaluation';

/** 3-way 2-shot 4-query episode of noisy constant images; features = mean colour per channel. */
function episode(): EpisodeTensors {
  const make = (perClass: number, seed: number) => {
    const labels = Array.from({ length: 3 * perClass }, (_, i) => Math.floor(i / perClass));
    const images = tf.tidy(() => tf.add(
      tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), 3).reshape([labels.length, 1, 1, 3]), tf.ones([labels.length, 4, 4, 3])),
      tf.randomNormal([labels.length, 4, 4, 3], 0, 0.8, 'float32', seed),
    ) as tf.Tensor4D);
    return { images, labels };
  };
  const s = make(2, 1);
  const q = make(4, 2);
  return { support: s.images, supportLabels: s.labels, query: q.images, queryLabels: q.labels };
}

const meanColour = (x: tf.Tensor4D) => tf.mean(x, [1, 2]) as tf.Tensor2D;

describe('episodeView', () => {
  it('shows every image, predictions that agree with episodeAccuracy, and leaks nothing', () => {
    const e = episode();
    const before = tf.memory().numTensors;
    const bundle = episodeView(meanColour, e, { classNames: ['red', 'green', 'blue'], title: 't' }).bundle;
    expect(tf.memory().numTensors).toBe(before);
    const payload = validateEpisode(bundle['application/vnd.lora-recycle.episode+json']);
    expect(payload.support).toHaveLength(6);
    expect(payload.query).toHaveLength(12);
    const right = payload.query.filter((q) => q.prediction === q.label).length;
    expect(right / 12).toBeCloseTo(episodeAccuracy(meanColour, e), 10);
    for (const q of payload.query) expect(q.confidence).toBeGreaterThan(1 / 3 - 1e-6);
    expect(bundle['text/plain']).toBeTruthy();
    tf.dispose([e.support, e.query]);
  });
});
