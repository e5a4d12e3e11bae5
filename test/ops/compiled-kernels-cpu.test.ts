import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectCompiledMatchesStock, KERNEL_CASES } from './compiled-kernels-cases';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('compiled kernels on the cpu backend (own memory, copies in and out, one thread)', () => {
  it('runs on cpu', () => expect(tf.getBackend()).toBe('cpu'));
  for (const c of KERNEL_CASES) {
    it(`${c.name}: same value and gradients as the stock kernels`, () => expectCompiledMatchesStock(c));
  }
});
