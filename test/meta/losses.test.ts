import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { distillationLoss, episodeCrossEntropy } from '../../src/meta/losses';
import { ShapeError } from '../../src/errors';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('cpu');
});

function softmax(row: number[]): number[] {
  const e = row.map(Math.exp);
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

describe('distillationLoss = KL(teacher softmax ‖ student softmax)', () => {
  it('matches the hand-computed value', () => {
    const teacher = [
      [2, 0, -1],
      [0.5, 0.5, 3],
    ];
    const student = [
      [1, 1, 0],
      [-2, 0, 1],
    ];
    let expected = 0;
    teacher.forEach((t, q) => {
      const pt = softmax(t);
      const ps = softmax(student[q]);
      expected += pt.reduce((s, p, i) => s + p * Math.log(p / ps[i]), 0);
    });
    expected /= 2;
    const loss = distillationLoss(tf.tensor2d(teacher), tf.tensor2d(student));
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
  });

  it('is zero when the student agrees with the teacher up to a shift of logits', () => {
    const loss = distillationLoss(tf.tensor2d([[1, 2, 3]]), tf.tensor2d([[11, 12, 13]]));
    expect(Math.abs(loss.dataSync()[0])).toBeLessThan(1e-6);
  });

  it('sends no gradient to the teacher', () => {
    const teacher = tf.tensor2d([[1, 0]]);
    const g = tf.grad((t: tf.Tensor) => distillationLoss(t as tf.Tensor2D, tf.tensor2d([[0, 1]])))(teacher);
    expect(Array.from(g.dataSync())).toEqual([0, 0]);
  });

  it('rejects logits of different shapes', () => {
    expect(() => distillationLoss(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D)).toThrow(ShapeError);
  });
});

describe('episodeCrossEntropy', () => {
  it('matches the hand-computed value', () => {
    const logits = [
      [2, 0, -1],
      [0.5, 0.5, 3],
    ];
    const labels = [0, 1];
    const expected = -(Math.log(softmax(logits[0])[0]) + Math.log(softmax(logits[1])[1])) / 2;
    const loss = episodeCrossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'));
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
  });

  it('rejects a label count that differs from the query count', () => {
    expect(() => episodeCrossEntropy(tf.zeros([2, 3]) as tf.Tensor2D, tf.tensor1d([0], 'int32'))).toThrow(ShapeError);
  });
});
