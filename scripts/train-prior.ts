/**
 * Recipe of the shipped image prior (issue 3): the BatchNorm CNN PRIOR_CNN trained as a
 * classifier on the glyph set's base scripts (Latin, digits, Cyrillic) — a domain other than the
 * emoji few-shot classes — then assets/prior/prior-cnn.safetensors (weights + running
 * statistics, config in the metadata) and assets/prior/training-record.json.
 *   npm run train:prior -- [--epochs N] [--seed S]
 * Inputs are CLIP-normalised like the ViT's, so R_BN compares statistics in the inversion's space.
 */
import * as tf from '@tensorflow/tfjs';
import { initWasmBackend } from '../src/backend/wasm';
import { holdoutSplit } from '../src/backbone';
import { assetPath } from '../src/paths';
import { DEFAULT_AUGMENT } from '../src/training/augment';
import { progressBar } from '../src/cli/progress-bar';
import { classesOf } from '../src/data/dataset';
import { loadGlyphDataset } from '../src/data/glyphs';
import { writeJsonAtomic } from '../src/io';
import { normalizeImages } from '../src/model';
import { PRIOR_CNN, SHIPPED_PRIOR_FILE, priorAccuracy, savePrior, trainPrior } from '../src/prior';
import { commandLine } from './command-line';
import { optimiserOptions } from './training-recipe';

const RECIPE = { epochs: 6, batchSize: 64, peakLearningRate: 2e-3, floorLearningRate: 1e-5, warmupFraction: 0.05, weightDecay: 5e-4 };
// characters are not mirror-symmetric: no flip; crops, shifts and colour jitter as for the backbone
const AUGMENT = { ...DEFAULT_AUGMENT, flip: false };

async function main(): Promise<void> {
  const backend = await initWasmBackend();
  const args = commandLine({ seed: '0', epochs: String(RECIPE.epochs) }).values;
  const seed = Number(args.seed);
  const epochs = Number(args.epochs);
  const glyphs = await loadGlyphDataset({ onEvent: progressBar() });
  const base = classesOf(glyphs, 'base');
  const split = holdoutSplit(glyphs, base, 1, seed);
  const started = Date.now();
  const { prior, result } = await trainPrior(PRIOR_CNN, split.train, {
    ...optimiserOptions(RECIPE, epochs),
    augment: AUGMENT,
    normalize: normalizeImages,
    seed,
    onEvent: progressBar(),
  });
  const trainSeconds = (Date.now() - started) / 1000;
  const heldOutAccuracy = priorAccuracy(prior, split.heldOut, [...Array(split.heldOut.size).keys()], normalizeImages);
  const record = {
    data: {
      dataset: glyphs.name,
      checksum: glyphs.checksum,
      split: 'base (Latin, digits, Cyrillic)',
      classes: split.classIds.length,
      trainImages: split.train.size,
      heldOutImages: split.heldOut.size,
      holdout: 'one font per class, chosen with the seed',
    },
    recipe: {
      ...RECIPE,
      epochs,
      seed,
      steps: result.totalSteps,
      augment: 'random resized crop 0.75–1 with ±12.5 % shift (white fill), no flip, brightness ±0.1, contrast ±20 %, saturation ±30 %',
      input: 'CLIP-normalised RGB 32×32',
      batchNorm: 'momentum 0.1, unbiased running variance (as PyTorch)',
    },
    backend,
    trainSeconds,
    finalLoss: result.lossHistory.slice(-20).reduce((a, b) => a + b, 0) / Math.max(1, Math.min(20, result.lossHistory.length)),
    heldOutAccuracy,
  };
  savePrior(assetPath(...SHIPPED_PRIOR_FILE), prior, { trainedOn: record.data, recipe: record.recipe, heldOutAccuracy });
  writeJsonAtomic(assetPath('prior', 'training-record.json'), record);
  prior.dispose();
  console.log(
    `prior: ${result.steps} steps in ${trainSeconds.toFixed(0)} s; held-out glyph accuracy ${(100 * heldOutAccuracy).toFixed(1)} % (${tf.memory().numTensors} tensors left)`,
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
