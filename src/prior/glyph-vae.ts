import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../errors';
import { conv3x3, linear } from '../ops';
import { treeTensors } from '../model/tensor-tree';

/**
 * A generator of images from a latent code: what a latent canvas (src/inversion/canvas.ts)
 * optimises through instead of pixels or strokes.
 */
export interface LatentGenerator {
  readonly config: { readonly imageSize: number; readonly latent: number };
  /** z [B, latent] → grey images [B, imageSize, imageSize, 1] in [0, 1], differentiable in z. */
  decode(z: tf.Tensor2D): tf.Tensor4D;
  dispose(): void;
}

/**
 * Architecture of the glyph VAE: an encoder of stride-2 conv 3×3 + ReLU blocks down to
 * imageSize / 2^depth, a dense layer to the latent mean and log-variance; a decoder mirroring
 * it with 2× nearest upsampling + conv 3×3 + ReLU, then conv 3×3 to one grey channel and a sigmoid.
 */
export interface GlyphVaeConfig {
  imageSize: number; // H = W
  latent: number; // size of z
  widths: number[]; // encoder channels per block; the decoder uses them in reverse
}

export const GLYPH_VAE: GlyphVaeConfig = { imageSize: 32, latent: 32, widths: [32, 64, 128] };

interface ConvWeights {
  kernel: tf.Tensor4D; // [3, 3, Cin, Cout]
  bias: tf.Tensor1D; // [Cout]
}

interface DenseWeights {
  kernel: tf.Tensor2D; // [in, out]
  bias: tf.Tensor1D; // [out]
}

export interface GlyphVaeWeights {
  encoder: ConvWeights[]; // one per width, stride 2
  mean: DenseWeights; // [side²·C_last, latent]
  logVariance: DenseWeights;
  fromLatent: DenseWeights; // [latent, side²·C_last]
  decoder: ConvWeights[]; // one per width in reverse order, after each 2× upsampling
  output: ConvWeights; // [3, 3, widths[0], 1]
}

/** Side of the smallest feature map. */
function bottleneckSide(config: GlyphVaeConfig): number {
  return config.imageSize / 2 ** config.widths.length;
}

export function validateGlyphVaeConfig(config: GlyphVaeConfig): void {
  for (const key of ['imageSize', 'latent'] as const) {
    if (!Number.isInteger(config[key]) || config[key] <= 0)
      throw new ConfigError(`GlyphVaeConfig.${key} must be a positive integer, found ${config[key]}`);
  }
  if (config.widths.length === 0 || config.widths.some((w) => !Number.isInteger(w) || w <= 0))
    throw new ConfigError(`GlyphVaeConfig.widths must be positive integers, found [${config.widths}]`);
  if (!Number.isInteger(bottleneckSide(config)) || bottleneckSide(config) < 1)
    throw new ConfigError(
      `GlyphVaeConfig.imageSize ${config.imageSize} must be divisible by 2^${config.widths.length} (one stride-2 block per width)`,
    );
}

/** 2× nearest-neighbour upsampling as a broadcast (differentiable on every backend). */
function upsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const spread = tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), tf.ones([1, 1, 2, 1, 2, 1]));
  return tf.reshape(spread, [b, 2 * h, 2 * w, c]);
}

/** Keeps every other row and column from the first: a stride-2 subsampling, by reshape and slice (differentiable everywhere). */
function subsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const grouped = tf.reshape(x, [b, h / 2, 2, w / 2, 2, c]);
  return tf.reshape(tf.slice(grouped, [0, 0, 0, 0, 0, 0], [b, h / 2, 1, w / 2, 1, c]), [b, h / 2, w / 2, c]);
}

/** 3×3 convolution with "same" padding and a bias, at stride 1 or 2 (conv3x3: its gradients run on every backend). */
function conv(x: tf.Tensor4D, weights: ConvWeights, stride: 1 | 2): tf.Tensor4D {
  const y = tf.add(conv3x3(x, weights.kernel), weights.bias) as tf.Tensor4D;
  return stride === 1 ? y : subsample2x(y);
}

/**
 * A small variational autoencoder of grey glyph images (Kingma & Welling 2014). Its decoder is the
 * generator of a latent canvas: inversion then searches the images it can draw, glyph-like shapes
 * of the domain it trained on, instead of free pixels or strokes.
 */
export class GlyphVae implements LatentGenerator {
  constructor(
    readonly config: GlyphVaeConfig,
    readonly weights: GlyphVaeWeights,
  ) {
    validateGlyphVaeConfig(config);
    validateGlyphVaeWeights(config, weights);
  }

  /** He-normal kernels, zero biases; seeded. */
  static random(config: GlyphVaeConfig, seed = 0): GlyphVae {
    validateGlyphVaeConfig(config);
    let next = seed * 1000 + 1;
    const convWeights = (cin: number, cout: number): ConvWeights => ({
      kernel: tf.randomNormal([3, 3, cin, cout], 0, Math.sqrt(2 / (9 * cin)), 'float32', next++) as tf.Tensor4D,
      bias: tf.zeros([cout]) as tf.Tensor1D,
    });
    const dense = (inputs: number, outputs: number, gain = 2): DenseWeights => ({
      kernel: tf.randomNormal([inputs, outputs], 0, Math.sqrt(gain / inputs), 'float32', next++) as tf.Tensor2D,
      bias: tf.zeros([outputs]) as tf.Tensor1D,
    });
    const { widths, latent } = config;
    const flat = bottleneckSide(config) ** 2 * widths[widths.length - 1];
    const reversed = [...widths].reverse();
    return new GlyphVae(config, {
      encoder: widths.map((w, i) => convWeights(i === 0 ? 1 : widths[i - 1], w)),
      mean: dense(flat, latent, 1),
      logVariance: dense(flat, latent, 0.01),
      fromLatent: dense(latent, flat),
      decoder: reversed.map((w, i) => convWeights(i === 0 ? w : reversed[i - 1], w)),
      output: convWeights(widths[0], 1),
    });
  }

  /** Grey images x [B, H, W, 1] in [0, 1] → the posterior's mean and log-variance [B, latent]. */
  encode(x: tf.Tensor4D): { mean: tf.Tensor2D; logVariance: tf.Tensor2D } {
    const { imageSize } = this.config;
    if (x.rank !== 4 || x.shape[1] !== imageSize || x.shape[2] !== imageSize || x.shape[3] !== 1)
      throw new ShapeError(`GlyphVae.encode: expected grey images [B, ${imageSize}, ${imageSize}, 1], found [${x.shape}]`);
    return tf.tidy(() => {
      let h: tf.Tensor4D = tf.sub(tf.mul(x, 2), 1); // [-1, 1]
      for (const block of this.weights.encoder) h = tf.relu(conv(h, block, 2));
      const flat = tf.reshape(h, [x.shape[0], -1]) as tf.Tensor2D;
      return {
        mean: linear(flat, this.weights.mean.kernel, this.weights.mean.bias),
        logVariance: linear(flat, this.weights.logVariance.kernel, this.weights.logVariance.bias),
      };
    });
  }

  /** z [B, latent] → the decoder's logits [B, H, W, 1] (sigmoid of them: the grey image). */
  decodeLogits(z: tf.Tensor2D): tf.Tensor4D {
    const { latent, widths } = this.config;
    if (z.rank !== 2 || z.shape[1] !== latent) throw new ShapeError(`GlyphVae: expected codes [B, ${latent}], found [${z.shape}]`);
    return tf.tidy(() => {
      const side = bottleneckSide(this.config);
      const fromLatent = tf.relu(linear(z, this.weights.fromLatent.kernel, this.weights.fromLatent.bias));
      let h = tf.reshape(fromLatent, [z.shape[0], side, side, widths[widths.length - 1]]) as tf.Tensor4D;
      for (const block of this.weights.decoder) h = tf.relu(conv(upsample2x(h), block, 1));
      return conv(h, this.weights.output, 1);
    });
  }

  decode(z: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => tf.sigmoid(this.decodeLogits(z)));
  }

  dispose(): void {
    for (const t of treeTensors(this.weights)) t.dispose();
  }
}

/**
 * The negative evidence lower bound per image: Σ_pixels BCE(x, decoder(z)) + β · KL(q(z|x) ‖ N(0, I)),
 * z = μ + σ·ε with ε ~ N(0, I) drawn with `seed`; x grey [B, H, W, 1] in [0, 1]. Returns the batch means.
 */
export function vaeLoss(
  vae: GlyphVae,
  x: tf.Tensor4D,
  seed: number,
  beta = 1,
): { total: tf.Scalar; reconstruction: tf.Scalar; kl: tf.Scalar } {
  return tf.tidy(() => {
    const { mean, logVariance } = vae.encode(x);
    const epsilon = tf.randomNormal(mean.shape, 0, 1, 'float32', seed);
    const z = tf.add(mean, tf.mul(tf.exp(tf.mul(logVariance, 0.5)), epsilon)) as tf.Tensor2D;
    const logits = vae.decodeLogits(z);
    // BCE with logits, stable: max(l, 0) − l·x + log(1 + e^−|l|)
    const bce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, x)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    const reconstruction = tf.mean(tf.sum(bce, [1, 2, 3])) as tf.Scalar;
    const kl = tf.mean(tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, logVariance), tf.square(mean)), tf.exp(logVariance)), 1))) as tf.Scalar;
    return { total: tf.add(reconstruction, tf.mul(beta, kl)) as tf.Scalar, reconstruction, kl };
  });
}

/** Throws a ShapeError naming the first tensor whose shape does not fit `config`. */
export function validateGlyphVaeWeights(config: GlyphVaeConfig, weights: GlyphVaeWeights): void {
  const expect = (t: tf.Tensor, shape: number[], what: string) => {
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
      throw new ShapeError(`GlyphVae ${what}: expected shape [${shape}], found [${t.shape}]`);
  };
  const { widths, latent } = config;
  const flat = bottleneckSide(config) ** 2 * widths[widths.length - 1];
  const reversed = [...widths].reverse();
  if (weights.encoder.length !== widths.length || weights.decoder.length !== widths.length)
    throw new ShapeError(`GlyphVae: expected ${widths.length} encoder and decoder blocks`);
  weights.encoder.forEach((b, i) => {
    expect(b.kernel, [3, 3, i === 0 ? 1 : widths[i - 1], widths[i]], `encoder.${i}.kernel`);
    expect(b.bias, [widths[i]], `encoder.${i}.bias`);
  });
  for (const name of ['mean', 'logVariance'] as const) {
    expect(weights[name].kernel, [flat, latent], `${name}.kernel`);
    expect(weights[name].bias, [latent], `${name}.bias`);
  }
  expect(weights.fromLatent.kernel, [latent, flat], 'fromLatent.kernel');
  expect(weights.fromLatent.bias, [flat], 'fromLatent.bias');
  weights.decoder.forEach((b, i) => {
    expect(b.kernel, [3, 3, i === 0 ? reversed[0] : reversed[i - 1], reversed[i]], `decoder.${i}.kernel`);
    expect(b.bias, [reversed[i]], `decoder.${i}.bias`);
  });
  expect(weights.output.kernel, [3, 3, widths[0], 1], 'output.kernel');
  expect(weights.output.bias, [1], 'output.bias');
}
