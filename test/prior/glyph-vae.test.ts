import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, FileFormatError, ShapeError } from '../../src/errors';
import { flattenTree, variablesOf } from '../../src/model/tensor-tree';
import { Adam } from '../../src/optim/adam';
import { GlyphVae, type GlyphVaeConfig, vaeLoss } from '../../src/prior/glyph-vae';
import { loadGlyphVae, saveGlyphVae } from '../../src/prior/glyph-vae-file';
import { writeSafetensors } from '../../src/io/safetensors';
import { useTestBackend } from '../test-backend';

const SMALL: GlyphVaeConfig = { imageSize: 8, latent: 4, widths: [4, 6] };
const dirs: string[] = [];

beforeAll(async () => {
  await useTestBackend('wasm');
});

afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** Two grey 8×8 glyphs: a vertical and a horizontal bar, dark on white. */
function bars(): tf.Tensor4D {
  return tf.tidy(() => {
    const vertical = tf.buffer([8, 8, 1]);
    const horizontal = tf.buffer([8, 8, 1]);
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 8; j++) {
        vertical.set(j === 3 || j === 4 ? 0 : 1, i, j, 0);
        horizontal.set(i === 3 || i === 4 ? 0 : 1, i, j, 0);
      }
    return tf.stack([vertical.toTensor(), horizontal.toTensor()]) as tf.Tensor4D;
  });
}

describe('GlyphVae', () => {
  it('encodes grey images to a mean and log-variance of the latent size and decodes codes to grey images in (0, 1)', () => {
    const vae = GlyphVae.random(SMALL, 1);
    const x = bars();
    const { mean, logVariance } = vae.encode(x);
    expect(mean.shape).toEqual([2, 4]);
    expect(logVariance.shape).toEqual([2, 4]);
    const images = vae.decode(mean);
    expect(images.shape).toEqual([2, 8, 8, 1]);
    const values = images.dataSync();
    expect(Math.min(...values)).toBeGreaterThan(0);
    expect(Math.max(...values)).toBeLessThan(1);
    tf.dispose([x, mean, logVariance, images]);
    vae.dispose();
  });

  it('learns: a few Adam steps on the negative ELBO lower it, with no tensor left behind per step', () => {
    const init = GlyphVae.random(SMALL, 2);
    const vae = new GlyphVae(SMALL, variablesOf(init.weights));
    init.dispose();
    const variables = Object.values(flattenTree(vae.weights)) as tf.Variable[];
    const adam = new Adam(variables);
    const x = bars();
    const lossAt = () => tf.tidy(() => vaeLoss(vae, x, 0).total.dataSync()[0]);
    const before = lossAt();
    const counts: number[] = [];
    for (let step = 0; step < 30; step++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => vaeLoss(vae, x, step).total, variables);
        adam.apply(
          variables.map((v) => grads[v.name]),
          0.01,
        );
      });
      counts.push(tf.memory().numTensors);
    }
    expect(lossAt()).toBeLessThan(0.8 * before);
    expect(counts[counts.length - 1]).toBe(counts[1]);
    adam.dispose();
    x.dispose();
    vae.dispose();
  });

  it('gives the loss as reconstruction + β·KL, with KL 0 for a posterior equal to the prior', () => {
    const vae = GlyphVae.random(SMALL, 3);
    tf.dispose([vae.weights.mean.kernel, vae.weights.logVariance.kernel]);
    vae.weights.mean.kernel = tf.zeros(vae.weights.mean.kernel.shape) as tf.Tensor2D;
    vae.weights.logVariance.kernel = tf.zeros(vae.weights.logVariance.kernel.shape) as tf.Tensor2D;
    const x = bars();
    const [total, reconstruction, kl] = tf.tidy(() => {
      const loss = vaeLoss(vae, x, 5, 2);
      return [loss.total.dataSync()[0], loss.reconstruction.dataSync()[0], loss.kl.dataSync()[0]];
    });
    expect(kl).toBeCloseTo(0, 6);
    expect(total).toBeCloseTo(reconstruction + 2 * kl, 4);
    expect(reconstruction).toBeGreaterThan(0);
    x.dispose();
    vae.dispose();
  });

  it('names what is wrong with a configuration, an image batch or a code', () => {
    expect(() => GlyphVae.random({ ...SMALL, imageSize: 6 }, 0)).toThrow(ConfigError);
    expect(() => GlyphVae.random({ ...SMALL, imageSize: 6 }, 0)).toThrow(/must be divisible by 2\^2/);
    expect(() => GlyphVae.random({ ...SMALL, latent: 0 }, 0)).toThrow(/latent must be a positive integer, found 0/);
    const vae = GlyphVae.random(SMALL, 0);
    const rgb = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    const code = tf.zeros([1, 5]) as tf.Tensor2D;
    expect(() => vae.encode(rgb)).toThrow(/expected grey images \[B, 8, 8, 1\], found \[1,8,8,3\]/);
    expect(() => vae.decode(code)).toThrow(ShapeError);
    expect(() => new GlyphVae({ ...SMALL, latent: 5 }, vae.weights)).toThrow(/mean.kernel: expected shape \[24,5\], found \[24,4\]/);
    tf.dispose([rgb, code]);
    vae.dispose();
  });
});

describe('saveGlyphVae / loadGlyphVae', () => {
  it('round-trips the weights and config, and names a file of another format or a missing tensor', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glyph-vae-'));
    dirs.push(dir);
    const vae = GlyphVae.random(SMALL, 4);
    const file = path.join(dir, 'vae.safetensors');
    saveGlyphVae(file, vae, { note: 'test' });
    const loaded = loadGlyphVae(file);
    expect(loaded.config).toEqual(SMALL);
    const z = tf.randomNormal([3, 4], 0, 1, 'float32', 9) as tf.Tensor2D;
    const [a, b] = [vae.decode(z), loaded.decode(z)];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    const other = path.join(dir, 'other.safetensors');
    writeSafetensors(other, { x: tf.zeros([1]) }, { format: 'something-else' });
    expect(() => loadGlyphVae(other)).toThrow(FileFormatError);
    expect(() => loadGlyphVae(other)).toThrow(/expected metadata.format "lora-recycle\/glyph-vae@1"/);
    const partial = path.join(dir, 'partial.safetensors');
    const { 'output.bias': _dropped, ...rest } = flattenTree(vae.weights);
    writeSafetensors(partial, rest, { format: 'lora-recycle/glyph-vae@1', config: JSON.stringify(SMALL) });
    expect(() => loadGlyphVae(partial)).toThrow(/missing tensor "output.bias" of shape \[1\]/);
    tf.dispose([z, a, b]);
    vae.dispose();
    loaded.dispose();
  });
});
