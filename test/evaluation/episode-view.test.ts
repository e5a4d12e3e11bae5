import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { queryCaption, validateEpisode, type EpisodePayload } from '../../src/display';
import type { EpisodeTensors } from '../../src/data';
import { episodeAccuracy, episodeView } from '../../src/evaluation';

/** 3-way 2-shot 4-query episode of noisy constant images; features = mean colour per channel. */
function episode(): EpisodeTensors {
  const make = (perClass: number, seed: number) => {
    const labels = Array.from({ length: 3 * perClass }, (_, i) => Math.floor(i / perClass));
    const images = tf.tidy(
      () =>
        tf.add(
          tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), 3).reshape([labels.length, 1, 1, 3]), tf.ones([labels.length, 4, 4, 3])),
          tf.randomNormal([labels.length, 4, 4, 3], 0, 0.8, 'float32', seed),
        ) as tf.Tensor4D,
    );
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

  it("shows softmax(−d) with the classifier's distance and scale and the distance margin, and says which", () => {
    const e = episode();
    const far = (x: tf.Tensor4D) => tf.mul(meanColour(x), 40) as tf.Tensor2D; // large distances: softmax(−d) is near 0/1
    // the classifier's distances, computed independently
    const support = far(e.support).arraySync() as number[][];
    const query = far(e.query).arraySync() as number[][];
    const protos = [0, 1, 2].map((c) => {
      const rows = support.filter((_, i) => (e.supportLabels as number[])[i] === c);
      return rows[0].map((_, j) => rows.reduce((a, r) => a + r[j], 0) / rows.length);
    });
    const dist = query.map((q) => protos.map((p) => Math.sqrt(p.reduce((a, v, j) => a + (v - q[j]) ** 2, 0))));
    for (const scale of [1, 0.05]) {
      const payload = validateEpisode(episodeView(far, e, { logitScale: scale }).bundle['application/vnd.lora-recycle.episode+json']);
      expect(payload.scoring).toMatch(
        scale === 1 ? /p = softmax\(−d\) .* d = Euclidean distance .*Δd = distance to the runner-up/ : /p = softmax\(−0\.05·d\)/,
      );
      payload.query.forEach((q, i) => {
        const sorted = [...dist[i]].sort((a, b) => a - b);
        expect(dist[i][q.prediction!]).toBeCloseTo(sorted[0], 3);
        expect(q.margin!).toBeCloseTo(sorted[1] - sorted[0], 3);
        const softmax = Math.exp(-scale * sorted[0]) / dist[i].reduce((a, d) => a + Math.exp(-scale * d), 0);
        expect(q.confidence!).toBeCloseTo(softmax, 6);
      });
    }
    const squared = validateEpisode(
      episodeView(far, e, { distance: 'squaredEuclidean' }).bundle['application/vnd.lora-recycle.episode+json'],
    );
    expect(squared.scoring).toMatch(/d = squared Euclidean distance/);
    squared.query.forEach((q, i) =>
      expect(q.margin!).toBeCloseTo([...dist[i]].map((d) => d * d).sort((a, b) => a - b)[1] - Math.min(...dist[i]) ** 2, 1),
    );
    tf.dispose([e.support, e.query]);
  });

  it('never captions a probability below 1 as "1.00"', () => {
    const p: EpisodePayload = { version: 1, classes: ['cat', 'dog'], support: [], query: [] };
    expect(queryCaption(p, { src: '', label: 1, prediction: 0, confidence: 0.99993, margin: 9.5 })).toBe('✗ cat p=>0.99 Δd=9.50 (is dog)');
    expect(queryCaption(p, { src: '', label: 0, prediction: 0, confidence: 0.6234, margin: 0.41 })).toBe('✓ cat p=0.62 Δd=0.41');
    expect(queryCaption(p, { src: '', label: 0, prediction: 0, confidence: 1 })).toBe('✓ cat p=1.00');
  });
});
