import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors';
import { meanPool2x2 } from '../../src/ops';
import { cotangentGrads, expectAllClose, randn } from './helpers';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

describe('meanPool2x2', () => {
  it('equals tfjs avgPool 2×2 stride 2, and so does its gradient', () => {
    tf.tidy(() => {
      const x = randn([2, 6, 4, 3], 1) as tf.Tensor4D;
      const reference = (t: tf.Tensor) => tf.avgPool(t as tf.Tensor4D, 2, 2, 'valid');
      const pooled = (t: tf.Tensor) => meanPool2x2(t as tf.Tensor4D);
      expect(pooled(x).shape).toEqual([2, 3, 2, 3]);
      expectAllClose([pooled(x)], [reference(x)], 1e-6);
      expectAllClose(cotangentGrads(pooled, [x], 3), cotangentGrads(reference, [x], 3), 1e-6);
    });
  });

  it('names an odd height or width', () => {
    expect(() => meanPool2x2(tf.zeros([1, 5, 4, 1]))).toThrow(ShapeError);
    expect(() => meanPool2x2(tf.zeros([1, 4, 5, 1]))).toThrow(/height and width must be even, found 4×5/);
  });
});
