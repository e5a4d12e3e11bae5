import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLoRA, mergeAdapter } from '../../src/adapters';
import { ConfigError } from '../../src/errors';
import { VisionTransformer } from '../../src/model';
import { TEST_VIT } from '../model/tiny-config';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('wasm');
});

/** Gives every variable random values, so that ΔW ≠ 0 and the components differ. */
function randomise(clora: CLoRA, seed: number): void {
  clora.trainableVariables().forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', seed + i)));
}

describe('CLoRA (method.md §3)', () => {
  it('counts p·(2dr + m·r²) trainable scalars', () => {
    const clora = CLoRA.create(TEST_VIT, { rank: 3, pairs: 2 });
    const m = 2 * TEST_VIT.depth; // q and v of every block
    expect(clora.parameterCount()).toBe(2 * (2 * 12 * 3 + m * 9));
    clora.dispose();
  });

  it('starts with ΔW = 0 and adds Σ_h D_h·Q_h·U_h to the forward', () => {
    const model = VisionTransformer.random(TEST_VIT, 1);
    const clora = CLoRA.create(TEST_VIT, { seed: 2 });
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const base = model.forward(x).features;
    expect(tf.max(tf.abs(tf.sub(model.forward(x, { adapter: clora }).features, base))).dataSync()[0]).toBe(0);
    randomise(clora, 10);
    const adapted = model.forward(x, { adapter: clora }).features;
    const merged = new VisionTransformer(TEST_VIT, mergeAdapter(model.weights, clora));
    expect(tf.max(tf.abs(tf.sub(merged.forward(x).features, adapted))).dataSync()[0]).toBeLessThan(1e-4);
    model.dispose();
    merged.dispose();
  });

  it('computes SADE in factor space equal to the direct d×d formula', () => {
    const clora = CLoRA.create(TEST_VIT, { rank: 2, pairs: 3, seed: 4 });
    randomise(clora, 20);
    const vars = clora.trainableVariables();
    const p = 3;
    const down = vars.slice(0, p);
    const up = vars.slice(p, 2 * p);
    const cores = vars.slice(2 * p);
    let direct = 0;
    for (let j = 0; j < clora.sites.length; j++) {
      const components = Array.from({ length: p }, (_, h) => tf.matMul(tf.matMul(down[h], cores[j * p + h]), up[h]));
      for (let h = 0; h < p; h++)
        for (let g = 0; g < p; g++) {
          if (g !== h) direct += tf.sum(tf.square(tf.matMul(components[h], components[g], true, false))).dataSync()[0];
        }
    }
    const sade = clora.sade().dataSync()[0];
    expect(Math.abs(sade - direct) / direct).toBeLessThan(1e-4);
    expect(clora.regularizer().dataSync()[0]).toBeCloseTo(sade * clora.sadeWeight, 4);
    clora.dispose();
  });

  it('refuses non-square targets', () => {
    expect(() => CLoRA.create(TEST_VIT, { targets: ['fc1'] })).toThrow(ConfigError);
  });
});
