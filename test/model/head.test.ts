import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors';
import { LinearHead } from '../../src/model';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

describe('LinearHead.fromPrototypes', () => {
  it("gives the softmax of −‖f − μ_c‖² / v, v the features' mean squared distance to their overall mean", () => {
    const features = tf.randomNormal([9, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
    const labels = [0, 1, 2, 0, 1, 2, 0, 1, 2];
    const before = tf.memory().numTensors;
    const head = LinearHead.fromPrototypes(features, labels, 3);
    expect(tf.memory().numTensors).toBe(before + 2); // its two variables only
    expect(head.trainableVariables()).toHaveLength(2);
    // by hand, in plain numbers
    const rows = features.arraySync();
    const means = [0, 1, 2].map((c) => {
      const own = rows.filter((_, i) => labels[i] === c);
      return own[0].map((_, d) => own.reduce((s, r) => s + r[d], 0) / own.length);
    });
    const squared = (a: number[], b: number[]) => a.reduce((s, v, d) => s + (v - b[d]) ** 2, 0);
    const overall = rows[0].map((_, d) => rows.reduce((s, r) => s + r[d], 0) / rows.length);
    const v = rows.reduce((s, r) => s + squared(r, overall), 0) / rows.length;
    const query = [
      [0.3, -1, 2, 0.5],
      [-0.2, 0.1, 0, 1],
    ];
    const expected = query.map((f) => {
      const logits = means.map((m) => -squared(f, m) / v);
      const top = Math.max(...logits);
      const exp = logits.map((l) => Math.exp(l - top));
      return exp.map((e) => e / exp.reduce((s, v) => s + v, 0));
    });
    const got = tf.tidy(() => tf.softmax(head.apply(tf.tensor2d(query))).arraySync());
    got.forEach((row, i) => row.forEach((p, c) => expect(p).toBeCloseTo(expected[i][c], 5)));
    head.dispose();
    features.dispose();
  });

  it('refuses a class without features and labels that do not match the rows', () => {
    const features = tf.zeros([4, 3]) as tf.Tensor2D;
    expect(() => LinearHead.fromPrototypes(features, [0, 1, 0, 1], 3)).toThrow(
      new ShapeError('LinearHead.fromPrototypes: classes 2 have no features'),
    );
    expect(() => LinearHead.fromPrototypes(features, [0, 1, 2], 3)).toThrow(/expected features \[3, D\], found \[4,3\]/);
    features.dispose();
  });
});
