import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensorsTensors } from '../../src/io/safetensors';
import { bnPriorLoss, efficientNetPriorPath, type EfficientNetLite0, loadEfficientNetPrior } from '../../src/prior';
import { missingVenvReason, REPO_ROOT, VENV_PYTHON } from '../reference/reference-data';
import { useTestBackend } from '../test-backend';

/**
 * The TypeScript EfficientNet-Lite0 prior against the PyPI PyTorch network (float64, see
 * make_efficientnet_reference.py) on a fixed random 32×32 batch at resolution 112: logits, the
 * batch mean and variance of every BatchNorm layer's input, and ∂R_BN/∂x. Tolerance: relative
 * error (‖Δ‖ / ‖reference‖) ≤ 1e-3 per tensor. Skipped, with the reason, without the venv or the
 * converted file (scripts/setup.sh makes both) locally; under CI=true their absence fails.
 */

const RESOLUTION = 112;
const RELATIVE_TOLERANCE = 1e-3;
const SCRIPT = path.join(__dirname, 'make_efficientnet_reference.py');

const skipReason =
  missingVenvReason() ??
  (fs.existsSync(efficientNetPriorPath()) ? null : `${efficientNetPriorPath()} is missing (scripts/setup.sh converts it)`);
const inCi = process.env.CI === 'true';
if (skipReason && !inCi) console.warn(`skipped: ${skipReason}`);

it.runIf(inCi || skipReason === null)('has the venv and the EfficientNet-Lite0 converted at set-up', () => {
  expect(skipReason, `${skipReason} (required when CI=true)`).toBeNull();
});

function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return tf.tidy(() => tf.div(tf.norm(tf.sub(a, b)), tf.norm(b)).dataSync()[0]);
}

describe.skipIf(skipReason !== null)('EfficientNet-Lite0 prior against PyTorch', () => {
  let root = '';
  let reference: Record<string, tf.Tensor>;
  let prior: EfficientNetLite0;

  beforeAll(async () => {
    await useTestBackend('wasm');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'efficientnet-reference-'));
    const file = path.join(root, 'reference.safetensors');
    // asynchronous, so that the worker keeps answering vitest while PyTorch runs (≈ 30 s)
    await promisify(execFile)(VENV_PYTHON, [SCRIPT, file, String(RESOLUTION)], { cwd: REPO_ROOT, timeout: 300_000 });
    reference = readSafetensorsTensors(file).tensors;
    prior = loadEfficientNetPrior(efficientNetPriorPath(), { resolution: RESOLUTION });
  }, 360_000);

  afterAll(() => {
    prior?.dispose();
    if (reference) tf.dispose(Object.values(reference));
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('gives the logits and every BatchNorm input statistic of the PyTorch network', () => {
    tf.tidy(() => {
      const { logits, statistics } = prior.forward(reference.pixel_values as tf.Tensor4D);
      expect(relativeError(logits, reference.logits)).toBeLessThan(RELATIVE_TOLERANCE);
      expect(statistics.length).toBe(49);
      statistics.forEach((s, l) => {
        expect(relativeError(s.mean, reference[`mean.${l}`]), `mean.${l}`).toBeLessThan(RELATIVE_TOLERANCE);
        expect(relativeError(s.variance, reference[`variance.${l}`]), `variance.${l}`).toBeLessThan(RELATIVE_TOLERANCE);
      });
    });
  }, 120_000);

  it('gives the gradient of R_BN with respect to the images', () => {
    tf.tidy(() => {
      const grad = tf.grad((x: tf.Tensor) => bnPriorLoss(x as tf.Tensor4D, prior))(reference.pixel_values);
      expect(relativeError(grad, reference.grad_pixel_values)).toBeLessThan(RELATIVE_TOLERANCE);
    });
  }, 120_000);
});
