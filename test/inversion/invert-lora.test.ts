import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIME, keptIndicesToMask, validateGallery } from '../../src/display';
import { CancelledError, ConfigError } from '../../src/errors';
import { invertLora, withinClassSimilarity, type InversionOptions, type InversionResult } from '../../src/inversion';
import { normalizedPixelBounds, normalizeImages, tokensAfterPruning } from '../../src/model';
import { PriorCnn } from '../../src/prior';
import { GlyphVae } from '../../src/prior/glyph-vae';
import type { RunEvent } from '../../src/progress/events';
import { SMALL_VIT, smallSetup } from './fixtures';
import { useTestBackend } from '../test-backend';

const { backbone, teacher, prior } = smallSetup(3);
const base: InversionOptions = { ways: 3, shots: 1, queries: 1, steps: 8, seed: 4 };
const PATCHES = 16;
const GRID = 4;
const PATCH = 4;

beforeAll(async () => {
  await useTestBackend('wasm');
});

afterAll(() => {
  backbone.dispose();
  teacher.dispose();
  prior.dispose();
});

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const flat = (t: tf.Tensor) => Array.from(t.dataSync());

/** The final images of `result` as the teacher sees them with `pruning`: kept patches and p(y | x). */
function teacherOn(result: InversionResult, pruning: Record<number, number>): { kept: number[][]; confidence: number[] } {
  return tf.tidy(() => {
    const out = backbone.forward(result.images, { adapter: teacher.adapter, pruning });
    const probabilities = tf.softmax(teacher.head.apply(out.features)).arraySync() as number[][];
    return { kept: out.keptPatches.arraySync() as number[][], confidence: probabilities.map((p, i) => p[result.targets[i]]) };
  });
}

describe('invertLora (method.md §1.3–1.4)', () => {
  it("lowers the loss and raises the teacher's confidence on the targets, pixels staying valid", async () => {
    const still = { ...base, steps: 25, flip: false, maxShift: 0 }; // without jitter the loss is one smooth objective
    const start = await invertLora(backbone, teacher, prior, { ...still, steps: 0 });
    const end = await invertLora(backbone, teacher, prior, still);
    expect(end.targets).toEqual([0, 0, 1, 1, 2, 2]);
    expect(mean(end.history.slice(-5).map((h) => h.loss))).toBeLessThan(mean(end.history.slice(0, 5).map((h) => h.loss)));
    expect(mean(end.targetConfidence)).toBeGreaterThan(mean(start.targetConfidence) + 0.05);
    expect(end.history.every((h) => h.prior !== null && h.prior > 0 && h.tv === null && h.l2 === null)).toBe(true);
    // valid pixels: [0, 1] after de-normalisation, i.e. per-channel bounds in normalised space
    const { low, high } = normalizedPixelBounds();
    const images = end.images.arraySync().flat(3) as number[];
    images.forEach((v, i) => {
      expect(v).toBeGreaterThanOrEqual(low[i % 3] - 1e-5);
      expect(v).toBeLessThanOrEqual(high[i % 3] + 1e-5);
    });
    expect(Math.min(...flat(end.pixels))).toBeGreaterThanOrEqual(0);
    expect(Math.max(...flat(end.pixels))).toBeLessThanOrEqual(1);
    expect(end.keptPatches).toBeNull();
    expect(flat(end.masks).every((m) => m === 1)).toBe(true);
    start.dispose();
    end.dispose();
  });

  it('prunes from ⌊0.25·steps⌋ on, keeps the compounded count, and masks exactly the surviving patches', async () => {
    const events: RunEvent[] = [];
    const pruning = { 0: 0.5, 1: 0.25 }; // 16 → 8 → 6 patch tokens
    const kept = tokensAfterPruning(tokensAfterPruning(PATCHES, 0.5), 0.25);
    expect(kept).toBe(6);
    const result = await invertLora(backbone, teacher, prior, {
      ...base,
      pruning,
      snapshotEvery: 4,
      snapshotSide: 8,
      tvWeight: 1e-3,
      l2Weight: 1e-3,
      onEvent: (e) => events.push(e),
    });
    expect(result.history.map((h) => h.patchTokens)).toEqual([16, 16, 6, 6, 6, 6, 6, 6]);
    const phaseAt = events.findIndex((e) => e.kind === 'phase' && e.phase === 'pruning');
    expect(events.filter((e) => e.kind === 'step').map((e) => events.indexOf(e) < phaseAt)).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(result.history.every((h) => h.tv !== null && h.l2 !== null)).toBe(true);
    // the final mask pass: one un-jittered pruned forward of the teacher
    const view = teacherOn(result, pruning);
    expect(result.keptPatches).toEqual(view.kept);
    result.targetConfidence.forEach((c, i) => expect(c).toBeCloseTo(view.confidence[i], 5));
    for (const row of result.keptPatches!) {
      expect(row).toHaveLength(kept);
      expect(new Set(row).size).toBe(kept);
      expect(row.every((p) => Number.isInteger(p) && p >= 0 && p < PATCHES)).toBe(true);
    }
    // masks [B, H, W, 1]: 1 exactly on the pixels of kept patches; masked = pixels ⊙ mask
    expect(result.masks.shape).toEqual([6, 16, 16, 1]);
    const masks = result.masks.arraySync() as number[][][][];
    masks.forEach((image, b) =>
      image.forEach((row, y) =>
        row.forEach(([m], x) => {
          const patch = Math.floor(y / PATCH) * GRID + Math.floor(x / PATCH);
          expect(m).toBe(result.keptPatches![b].includes(patch) ? 1 : 0);
        }),
      ),
    );
    const expectedMasked = tf.mul(result.pixels, result.masks);
    expect(tf.max(tf.abs(tf.sub(expectedMasked, result.maskedPixels))).dataSync()[0]).toBe(0);
    // the surrogate set: normalised masked images, targets, kept patches, the teacher
    const set = result.toSurrogateSet();
    const normalised = normalizeImages(result.maskedPixels);
    expect(tf.max(tf.abs(tf.sub(set.images, normalised))).dataSync()[0]).toBeLessThan(1e-6);
    expect(set.targets).toEqual(result.targets);
    expect(set.keptPatches).toEqual(result.keptPatches);
    expect(set.teacher).toBe(teacher);
    tf.dispose([expectedMasked, normalised, set.images]);
    // snapshots at steps 4 and 8, resized to 8×8, pruned (un-jittered) masks, each also sent as a gallery event
    expect(result.snapshots.map((s) => s.step)).toEqual([4, 8]);
    expect(result.snapshots.every((s) => s.keptPatches!.every((row) => row.length === kept))).toBe(true);
    expect(result.snapshots[1].keptPatches).toEqual(result.keptPatches);
    expect(
      result.snapshots.every((s) => s.side === 8 && s.pixels.length === 6 * 8 * 8 * 3 && s.pixels.every((v) => v >= 0 && v <= 1)),
    ).toBe(true);
    const snapshotEvents = events.filter((e) => e.kind === 'snapshot');
    expect(snapshotEvents.map((e) => e.kind === 'snapshot' && e.step)).toEqual([4, 8]);
    snapshotEvents.forEach((e) => expect(() => validateGallery((e as { payload: unknown }).payload)).not.toThrow());
    // the Jupyter display: a gallery whose last frame is the final images with masks and confidence
    const bundle = (result as unknown as Record<symbol, () => Record<string, unknown>>)[Symbol.for('Jupyter.display')]();
    const gallery = validateGallery(bundle[MIME.gallery]);
    expect(gallery.snapshots.map((s) => s.step)).toEqual([4, 8]);
    const last = gallery.snapshots[1].images;
    expect(last.map((im) => im.classIndex)).toEqual(result.targets);
    expect(last.map((im) => im.mask)).toEqual(result.keptPatches!.map((row) => keptIndicesToMask(row, PATCHES)));
    expect(last.map((im) => im.confidence)).toEqual(result.targetConfidence);
    expect(typeof bundle['text/plain']).toBe('string');
    result.dispose();
  });

  it("with a diversity weight, records R_div and spreads each class's features more than without", async () => {
    const options = { ...base, shots: 2, queries: 2, steps: 15, seed: 9 };
    const plain = await invertLora(backbone, teacher, prior, options);
    const spread = await invertLora(backbone, teacher, prior, { ...options, diversityWeight: 5 });
    expect(plain.history.every((h) => h.diversity === null)).toBe(true);
    expect(spread.history.every((h) => typeof h.diversity === 'number')).toBe(true);
    const similarity = (r: InversionResult) =>
      tf.tidy(() => {
        const features = backbone.forward(r.images, { adapter: teacher.adapter }).features as tf.Tensor2D;
        return withinClassSimilarity(features, tf.tensor1d(r.targets, 'int32'), 3).dataSync()[0];
      });
    expect(similarity(spread)).toBeLessThan(similarity(plain));
    expect(spread.history[spread.history.length - 1].loss).toBeCloseTo(
      spread.history[spread.history.length - 1].crossEntropy +
        0.01 * (spread.history[spread.history.length - 1].prior ?? 0) +
        5 * (spread.history[spread.history.length - 1].diversity ?? 0),
      4,
    );
    plain.dispose();
    spread.dispose();
  });

  it("with w_0 > 0, records the unadapted term and raises the head's confidence on the backbone without the LoRA", async () => {
    const options = { ...base, steps: 20, seed: 11 };
    const plain = await invertLora(backbone, teacher, prior, options);
    const both = await invertLora(backbone, teacher, prior, { ...options, unadaptedWeight: 3 });
    expect(plain.history.every((h) => h.unadapted === null)).toBe(true);
    expect(both.history.every((h) => typeof h.unadapted === 'number')).toBe(true);
    const last = both.history[both.history.length - 1];
    expect(last.loss).toBeCloseTo(last.crossEntropy + 0.01 * (last.prior ?? 0) + 3 * (last.unadapted ?? 0), 4);
    const unadaptedConfidence = (r: InversionResult) =>
      tf.tidy(() => {
        const probabilities = tf.softmax(teacher.head.apply(backbone.forward(r.images).features)).arraySync() as number[][];
        return mean(probabilities.map((p, i) => p[r.targets[i]]));
      });
    expect(unadaptedConfidence(both)).toBeGreaterThan(unadaptedConfidence(plain) + 0.05);
    plain.dispose();
    both.dispose();
  });

  it('with a coarser parameter grid, returns full-size images that are a bilinear upsampling; the full side changes nothing', async () => {
    const options = { ...base, steps: 6, seed: 12 };
    const fine = await invertLora(backbone, teacher, prior, options);
    const sameSide = await invertLora(backbone, teacher, prior, { ...options, parameterSide: SMALL_VIT.imageSize });
    expect(flat(sameSide.images)).toEqual(flat(fine.images));
    const coarse = await invertLora(backbone, teacher, prior, { ...options, parameterSide: 4 });
    expect(coarse.images.shape).toEqual(fine.images.shape);
    // a bilinear upsampling is piecewise linear along each row: many second differences vanish
    const straightFraction = (r: InversionResult) =>
      tf.tidy(() => {
        const x = r.images;
        const secondDifference = tf.add(
          tf.sub(tf.slice(x, [0, 0, 2, 0], [-1, -1, 14, -1]), tf.mul(2, tf.slice(x, [0, 0, 1, 0], [-1, -1, 14, -1]))),
          tf.slice(x, [0, 0, 0, 0], [-1, -1, 14, -1]),
        );
        return tf.mean(tf.cast(tf.less(tf.abs(secondDifference), 1e-4), 'float32')).dataSync()[0];
      });
    expect(straightFraction(fine)).toBeLessThan(0.1);
    expect(straightFraction(coarse)).toBeGreaterThan(0.4);
    [fine, sameSide, coarse].forEach((r) => r.dispose());
  });

  it('with strokes, draws grey line drawings that the teacher grows sure of, the same for the same seed', async () => {
    const options = { ...base, steps: 40, strokes: 4, learningRate: 0.05, flip: false, maxShift: 0, seed: 13 };
    const start = await invertLora(backbone, teacher, prior, { ...options, steps: 0 });
    const drawn = await invertLora(backbone, teacher, prior, options);
    const again = await invertLora(backbone, teacher, prior, options);
    expect(mean(drawn.targetConfidence)).toBeGreaterThan(mean(start.targetConfidence) + 0.05);
    expect(flat(again.pixels)).toEqual(flat(drawn.pixels));
    const pixels = drawn.pixels.arraySync().flat(2) as number[][];
    for (const [r, g, b] of pixels) {
      expect(g).toBeCloseTo(r, 4);
      expect(b).toBeCloseTo(r, 4);
    }
    // line drawings: most of the canvas stays white paper
    expect(pixels.filter(([r]) => r > 0.9).length / pixels.length).toBeGreaterThan(0.3);
    [start, drawn, again].forEach((r) => r.dispose());
  });

  it('with w_ink > 0, records the ink and draws with less of it; polyline strokes stay deterministic', async () => {
    const options = { ...base, steps: 30, strokes: 4, strokeSegments: 3, learningRate: 0.05, seed: 14 };
    const plain = await invertLora(backbone, teacher, prior, options);
    const sparing = await invertLora(backbone, teacher, prior, { ...options, inkWeight: 5 });
    const again = await invertLora(backbone, teacher, prior, { ...options, inkWeight: 5 });
    expect(plain.history.every((h) => h.ink === null)).toBe(true);
    expect(sparing.history.every((h) => typeof h.ink === 'number' && h.ink > 0)).toBe(true);
    const last = sparing.history[sparing.history.length - 1];
    expect(last.loss).toBeCloseTo(last.crossEntropy + 0.01 * (last.prior ?? 0) + 5 * (last.ink ?? 0), 4);
    const ink = (r: InversionResult) => 1 - mean(flat(r.pixels));
    expect(ink(sparing)).toBeLessThan(0.8 * ink(plain));
    expect(flat(again.pixels)).toEqual(flat(sparing.pixels));
    [plain, sparing, again].forEach((r) => r.dispose());
  });

  it('with jitter copies J > 1, averages the loss over J jittered batches: its own images, deterministic, J = 1 the default', async () => {
    const options = { ...base, steps: 4, strokes: 3, seed: 21 };
    const plain = await invertLora(backbone, teacher, prior, options);
    const one = await invertLora(backbone, teacher, prior, { ...options, jitterCopies: 1 });
    const copies = await invertLora(backbone, teacher, prior, { ...options, jitterCopies: 3 });
    const again = await invertLora(backbone, teacher, prior, { ...options, jitterCopies: 3 });
    expect(flat(one.pixels)).toEqual(flat(plain.pixels));
    expect(flat(again.pixels)).toEqual(flat(copies.pixels));
    expect(Math.max(...flat(copies.pixels).map((v, i) => Math.abs(v - flat(plain.pixels)[i])))).toBeGreaterThan(1e-4);
    expect(copies.pixels.shape).toEqual(plain.pixels.shape);
    [plain, one, copies, again].forEach((r) => r.dispose());
  });

  it('gives the identical result for the same seed and a different one for another seed', async () => {
    const options = { ...base, steps: 5, pruning: { 1: 0.5 } };
    const a = await invertLora(backbone, teacher, prior, options);
    const b = await invertLora(backbone, teacher, prior, options);
    const c = await invertLora(backbone, teacher, prior, { ...options, seed: 5 });
    expect(flat(b.images)).toEqual(flat(a.images));
    expect(b.history).toEqual(a.history);
    expect(b.keptPatches).toEqual(a.keptPatches);
    expect(flat(c.images)).not.toEqual(flat(a.images));
    [a, b, c].forEach((r) => r.dispose());
  });

  it('stops at the next step after an abort with CancelledError, leaving no tensor behind', async () => {
    const controller = new AbortController();
    const events: RunEvent[] = [];
    const before = tf.memory().numTensors;
    const run = invertLora(backbone, teacher, prior, {
      ...base,
      steps: 50,
      pruning: { 1: 0.5 },
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.kind === 'step' && e.step === 3) controller.abort();
      },
    });
    await expect(run).rejects.toThrow(new CancelledError('inversion stopped after 3 of 50 steps; nothing saved'));
    expect(events.filter((e) => e.kind === 'step').map((e) => (e as { step: number }).step)).toEqual([1, 2, 3]);
    expect(events.some((e) => e.kind === 'phase' && e.phase === 'stopped')).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaves the tensor count flat across repeated inversions', async () => {
    const once = async () => {
      const result = await invertLora(backbone, teacher, prior, {
        ...base,
        steps: 3,
        pruning: { 1: 0.5 },
        pruneFrom: 0,
        snapshotEvery: 2,
        tvWeight: 1e-3,
      });
      result.toSurrogateSet().images.dispose();
      result.displayBundle();
      result.dispose();
    };
    await once();
    const before = tf.memory().numTensors;
    await once();
    await once();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaves the tensor count flat across repeated stroke inversions with pen strokes and w_ink', async () => {
    const once = async () => {
      const options = { ...base, steps: 3, strokes: 3, strokeSegments: 2, inkWeight: 1, snapshotEvery: 2, jitterCopies: 2 };
      (await invertLora(backbone, teacher, prior, options)).dispose();
    };
    await once();
    const before = tf.memory().numTensors;
    await once();
    await once();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("with a generator, optimises its codes: every image is the decoder's grey image of a code, deterministic, tensor count flat", async () => {
    const generator = GlyphVae.random({ imageSize: 16, latent: 4, widths: [4, 6] }, 3);
    const options = { ...base, steps: 10, learningRate: 0.5, generator, seed: 6 };
    const result = await invertLora(backbone, teacher, prior, options);
    const again = await invertLora(backbone, teacher, prior, options);
    expect(flat(again.pixels)).toEqual(flat(result.pixels));
    const pixels = result.pixels.arraySync() as number[][][][];
    expect(pixels.flat(2).every(([r, g, b]) => Math.abs(g - r) < 1e-5 && Math.abs(b - r) < 1e-5)).toBe(true);
    expect(result.history[0].crossEntropy).toBeGreaterThan(result.history[result.history.length - 1].crossEntropy);
    const start = await invertLora(backbone, teacher, prior, { ...options, steps: 0 });
    expect(Math.max(...flat(result.pixels).map((v, i) => Math.abs(v - flat(start.pixels)[i])))).toBeGreaterThan(1e-3);
    [result, again, start].forEach((r) => r.dispose());
    const before = tf.memory().numTensors;
    (await invertLora(backbone, teacher, prior, options)).dispose();
    expect(tf.memory().numTensors).toBe(before);
    generator.dispose();
  });

  it('refuses bad options with a ConfigError naming the problem', async () => {
    const refuse = (options: Partial<InversionOptions>, pattern: RegExp, withPrior: PriorCnn | null = prior) =>
      expect(invertLora(backbone, teacher, withPrior, { ...base, ...options })).rejects.toThrow(
        expect.objectContaining({ name: ConfigError.name, message: expect.stringMatching(pattern) }),
      );
    await refuse({ ways: 4 }, /ways is 4 but the teacher's head has 3 classes/);
    await refuse({ shots: 0 }, /shots must be a positive integer, found 0/);
    await refuse({ queries: 1.5 }, /queries must be a non-negative integer/);
    await refuse({ steps: -1 }, /steps must be a non-negative integer/);
    await refuse({ pruning: { 1: 0 } }, /ratio of layer 1 must be in \(0, 1\), found 0/);
    await refuse({ pruning: { 1: 1 } }, /ratio of layer 1 must be in \(0, 1\), found 1/);
    await refuse({ pruning: { 2: 0.5 } }, /layer 2 is not a block index in 0\.\.1/);
    await refuse({ pruneFrom: 1.5 }, /pruneFrom must be in \[0, 1\]/);
    await refuse({ priorWeight: -1 }, /priorWeight must be a finite number ≥ 0/);
    await refuse({ diversityWeight: Number.NaN }, /diversityWeight must be a finite number ≥ 0/);
    await refuse({ unadaptedWeight: -2 }, /unadaptedWeight must be a finite number ≥ 0, found -2/);
    await refuse({ parameterSide: 17 }, /parameterSide must be an integer in 2\.\.16 \(the image side\), found 17/);
    await refuse({ parameterSide: 1 }, /parameterSide must be an integer in 2\.\.16/);
    await refuse({ strokes: -1 }, /strokes must be a non-negative integer, found -1/);
    await refuse({ strokes: 3, maxStrokeWidth: 0.2 }, /maxStrokeWidth must be in \[0.5, 16\] pixels of a 32-pixel side, found 0.2/);
    await refuse({ strokes: 3, strokeSegments: 0 }, /strokeSegments must be an integer in 1\.\.8, found 0/);
    await refuse({ strokes: 3, strokeSegments: 9 }, /strokeSegments must be an integer in 1\.\.8, found 9/);
    await refuse({ inkWeight: -1 }, /inkWeight must be a finite number ≥ 0, found -1/);
    await refuse({ jitterCopies: 0 }, /jitterCopies must be an integer in 1\.\.8, found 0/);
    await refuse({ jitterCopies: 2.5 }, /jitterCopies must be an integer in 1\.\.8, found 2.5/);
    await refuse({ strokes: 3, parameterSide: 8 }, /parameterSide sets the grid of free pixels; it does not apply with strokes/);
    const generator = GlyphVae.random({ imageSize: 16, latent: 4, widths: [4, 6] }, 0);
    const wideGenerator = GlyphVae.random({ imageSize: 32, latent: 4, widths: [4, 6] }, 0);
    await refuse({ generator, strokes: 3 }, /a generator draws the images; strokes \(3\) do not apply with it/);
    await refuse({ generator, parameterSide: 8 }, /parameterSide sets the grid of free pixels; it does not apply with a generator/);
    await refuse({ generator: wideGenerator }, /the generator draws 32-pixel images but the backbone takes 16/);
    generator.dispose();
    wideGenerator.dispose();
    await refuse({ classNames: ['a'] }, /classNames must name the 3 ways, found 1/);
    await refuse({ snapshotEvery: 0 }, /snapshotEvery must be a positive integer/);
    const wrongPrior = PriorCnn.random({ imageSize: 8, channels: 3, widths: [4], classes: 2, batchNormEps: 1e-5 }, 1);
    await refuse({}, /prior CNN takes \[8, 8, 3\] images, the backbone \[16, 16, 3\]/, wrongPrior);
    wrongPrior.dispose();
    expect(SMALL_VIT.depth).toBe(2);
  });
});
