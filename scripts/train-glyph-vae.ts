/**
 * Recipe of the glyph VAE (src/prior/glyph-vae.ts), the generator of the inversion's latent canvas
 * (inversion.generator 'glyph-vae'): a variational autoencoder of the grey glyph images of domain
 * A only, the glyph set's base scripts (Latin, digits, Cyrillic; domain B leaves out their
 * homoglyphs), the same images the shipped prior CNN trained on; one font per class held out.
 * Adam, 5 % warm-up then cosine to 1e-5, batch 64, a random shift of up to ±2 pixels (white fill)
 * per image and step; writes assets/glyph-vae/glyph-vae.safetensors and training-record.json.
 *   npm run train:glyph-vae -- [--epochs 40] [--seed 0] [--out assets/glyph-vae]
 * What the trained decoder can draw, for the model card (no training): the negative ELBO of A's
 * held-out fonts and of domain B's base classes (shapes it never saw), and evaluation.png: rows of
 * A's held-out images, their reconstructions, B's images, theirs, and decodings of z ~ N(0, I):
 *   npm run train:glyph-vae -- --evaluate [--out assets/glyph-vae]
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import { holdoutSplit } from '../src/backbone';
import { classesOf } from '../src/data/dataset';
import { loadGlyphDataset } from '../src/data/glyphs';
import { ConfigError } from '../src/errors';
import { writeFileAtomic, writeJsonAtomic } from '../src/io';
import { Adam } from '../src/optim/adam';
import { warmupCosineRate } from '../src/optim/schedule';
import { assetPath } from '../src/paths';
import { GLYPH_VAE, GlyphVae, vaeLoss } from '../src/prior/glyph-vae';
import { loadGlyphVae, saveGlyphVae, SHIPPED_GLYPH_VAE_FILE } from '../src/prior/glyph-vae-file';
import { loadGlyphDomainDataset } from '../src/data/glyph-domain';
import { encodePng } from '../src/display';
import { readJsonFile } from '../src/io/read-json';
import { variablesOf } from '../src/model';
import { flattenTree } from '../src/model/tensor-tree';
import { SeededRandom } from '../src/random/seeded-random';
import { commandLine } from './command-line';

const RECIPE = { batchSize: 64, peakLearningRate: 1e-3, floorLearningRate: 1e-5, warmupFraction: 0.05, maxShift: 2, beta: 1 };

/** Grey (mean of RGB) images in [0, 1], each rolled by up to ±maxShift pixels with white filling what it uncovers. */
function shiftedGrey(pixels: tf.Tensor4D, random: SeededRandom, maxShift: number): tf.Tensor4D {
  return tf.tidy(() => {
    const grey = tf.mean(pixels, 3, true) as tf.Tensor4D;
    const [b, h, w] = grey.shape;
    const padded = tf.pad(
      grey,
      [
        [0, 0],
        [maxShift, maxShift],
        [maxShift, maxShift],
        [0, 0],
      ],
      1,
    );
    const crops = Array.from({ length: b }, (_, i) => {
      const dy = random.int(2 * maxShift + 1);
      const dx = random.int(2 * maxShift + 1);
      return tf.slice(padded, [i, dy, dx, 0], [1, h, w, 1]);
    });
    return tf.concat(crops) as tf.Tensor4D;
  });
}

const EVALUATION = { images: 12, bImages: 600, seed: 7 };

/** One grey picture: each row a batch of images [n, H, W, 1] in [0, 1], ×2, on white. */
function rowsPicture(rows: tf.Tensor4D[]): Buffer {
  const [, side] = rows[0].shape;
  const cell = 2 * side + 2;
  const width = EVALUATION.images * cell + 2;
  const height = rows.length * cell + 2;
  const bytes = new Uint8Array(width * height).fill(255);
  rows.forEach((row, r) => {
    const values = row.dataSync();
    for (let i = 0; i < Math.min(EVALUATION.images, row.shape[0]); i++)
      for (let y = 0; y < 2 * side; y++)
        for (let x = 0; x < 2 * side; x++)
          bytes[(2 + r * cell + y) * width + 2 + i * cell + x] = Math.round(255 * values[(i * side + (y >> 1)) * side + (x >> 1)]);
  });
  return encodePng(bytes, width, height, 1);
}

/** The negative ELBO of `x` (grey), its terms, and the posterior means' decodings. */
function scored(
  vae: GlyphVae,
  x: tf.Tensor4D,
): { loss: { total: number; reconstruction: number; kl: number }; reconstructed: tf.Tensor4D } {
  const loss = tf.tidy(() => {
    const terms = vaeLoss(vae, x, EVALUATION.seed);
    return { total: terms.total.dataSync()[0], reconstruction: terms.reconstruction.dataSync()[0], kl: terms.kl.dataSync()[0] };
  });
  const reconstructed = tf.tidy(() => vae.decode(vae.encode(x).mean));
  return { loss, reconstructed };
}

async function evaluate(out: string): Promise<void> {
  await selectBackend();
  const vae = loadGlyphVae(path.join(out, SHIPPED_GLYPH_VAE_FILE[1]));
  const record = readJsonFile(path.join(out, 'training-record.json'), 'not valid JSON') as { recipe: { seed: number } };
  const glyphs = await loadGlyphDataset();
  const split = holdoutSplit(glyphs, classesOf(glyphs, 'base'), 1, record.recipe.seed);
  const domain = await loadGlyphDomainDataset();
  const random = new SeededRandom(EVALUATION.seed);
  const bRecords = classesOf(domain, 'base').flatMap((c) => domain.imagesOf(c.id));
  const chosen = random
    .permutation(bRecords.length)
    .slice(0, EVALUATION.bImages)
    .map((i) => bRecords[i]);
  const greyOf = (rgb: tf.Tensor4D) => tf.tidy(() => tf.mean(rgb, 3, true) as tf.Tensor4D);
  const aRgb = split.heldOut.pixels(random.permutation(split.heldOut.size));
  const a = greyOf(aRgb);
  const bRgb = tf.tensor4d(
    chosen.flatMap((r) => Array.from(domain.pixels(r))),
    [chosen.length, domain.imageSize, domain.imageSize, 3],
  );
  const b = greyOf(bRgb);
  const onA = scored(vae, a);
  const onB = scored(vae, b);
  const samples = tf.tidy(() =>
    vae.decode(tf.randomNormal([EVALUATION.images, vae.config.latent], 0, 1, 'float32', EVALUATION.seed) as tf.Tensor2D),
  );
  writeFileAtomic(path.join(out, 'evaluation.png'), rowsPicture([a, onA.reconstructed, b, onB.reconstructed, samples]));
  const evaluation = {
    note: 'negative ELBO per image (nats): reconstruction (Bernoulli, summed over 1,024 pixels) + KL; one draw of z per image',
    domainAHeldOut: { images: split.heldOut.size, ...onA.loss },
    domainBBase: { images: chosen.length, ...onB.loss },
    picture:
      "evaluation.png: A's held-out fonts, their reconstructions (decoded posterior means), B's base images, theirs, decodings of z ~ N(0, I)",
  };
  writeJsonAtomic(path.join(out, 'evaluation.json'), evaluation);
  console.log(JSON.stringify(evaluation, null, 2));
  tf.dispose([aRgb, a, bRgb, b, onA.reconstructed, onB.reconstructed, samples]);
  vae.dispose();
}

async function main(): Promise<void> {
  const { values } = commandLine({ epochs: '40', seed: '0', out: assetPath(SHIPPED_GLYPH_VAE_FILE[0]) }, ['evaluate']);
  if (values.evaluate) return evaluate(values.out);
  const [epochs, seed] = [Number(values.epochs), Number(values.seed)];
  if (!Number.isInteger(epochs) || epochs < 1) throw new ConfigError(`--epochs must be a positive integer, found ${values.epochs}`);
  const backend = await selectBackend();
  const glyphs = await loadGlyphDataset();
  const split = holdoutSplit(glyphs, classesOf(glyphs, 'base'), 1, seed);
  const init = GlyphVae.random(GLYPH_VAE, seed);
  const vae = new GlyphVae(GLYPH_VAE, variablesOf(init.weights));
  init.dispose();
  const variables = Object.values(flattenTree(vae.weights)) as tf.Variable[];
  const adam = new Adam(variables);
  const stepsPerEpoch = Math.ceil(split.train.size / RECIPE.batchSize);
  const total = epochs * stepsPerEpoch;
  const schedule = {
    minRate: RECIPE.floorLearningRate,
    maxRate: RECIPE.peakLearningRate,
    cycleSteps: total,
    warmupSteps: Math.round(RECIPE.warmupFraction * total),
  };
  const random = new SeededRandom(seed);
  const started = Date.now();
  let step = 0;
  let last = { total: Number.NaN, reconstruction: Number.NaN, kl: Number.NaN };
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = random.permutation(split.train.size);
    const sums = { total: 0, reconstruction: 0, kl: 0 };
    for (let start = 0; start < order.length; start += RECIPE.batchSize) {
      const raw = split.train.pixels(order.slice(start, start + RECIPE.batchSize));
      const x = shiftedGrey(raw, random, RECIPE.maxShift);
      raw.dispose();
      const terms = tf.tidy(() => {
        let read: tf.Tensor1D | undefined;
        const { grads } = tf.variableGrads(() => {
          const loss = vaeLoss(vae, x, seed * 100_000 + step, RECIPE.beta);
          read = tf.keep(tf.stack([loss.total, loss.reconstruction, loss.kl]) as tf.Tensor1D);
          return loss.total;
        }, variables);
        adam.apply(
          variables.map((v) => grads[v.name]),
          warmupCosineRate(step, schedule),
        );
        return read as tf.Tensor1D;
      });
      const [total, reconstruction, kl] = terms.dataSync();
      terms.dispose();
      x.dispose();
      sums.total += total;
      sums.reconstruction += reconstruction;
      sums.kl += kl;
      step++;
    }
    last = { total: sums.total / stepsPerEpoch, reconstruction: sums.reconstruction / stepsPerEpoch, kl: sums.kl / stepsPerEpoch };
    console.log(
      `epoch ${epoch + 1}/${epochs}: loss ${last.total.toFixed(1)} (reconstruction ${last.reconstruction.toFixed(1)}, KL ${last.kl.toFixed(1)})`,
    );
  }
  const trainSeconds = (Date.now() - started) / 1000;
  const heldOutLoss = tf.tidy(() => {
    const all = [...Array(split.heldOut.size).keys()];
    const x = tf.mean(split.heldOut.pixels(all), 3, true) as tf.Tensor4D;
    const loss = vaeLoss(vae, x, seed);
    return { total: loss.total.dataSync()[0], reconstruction: loss.reconstruction.dataSync()[0], kl: loss.kl.dataSync()[0] };
  });
  const record = {
    data: {
      dataset: glyphs.name,
      checksum: glyphs.checksum,
      split: 'base (Latin, digits, Cyrillic): domain A',
      classes: split.classIds.length,
      trainImages: split.train.size,
      heldOutImages: split.heldOut.size,
      holdout: 'one font per class, chosen with the seed',
    },
    config: GLYPH_VAE,
    recipe: { ...RECIPE, epochs, seed, steps: step },
    backend: backend.name,
    trainSeconds,
    finalEpoch: last,
    heldOut: heldOutLoss,
  };
  adam.dispose();
  saveGlyphVae(path.join(values.out, SHIPPED_GLYPH_VAE_FILE[1]), vae, record);
  writeJsonAtomic(path.join(values.out, 'training-record.json'), record);
  vae.dispose();
  console.log(JSON.stringify(record.heldOut), `${trainSeconds.toFixed(0)} s`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
