import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors';
import { inkTemplateMatch, meanInkMatch } from '../../src/reproduce/ink-match';
import { useTestBackend } from '../test-backend';

beforeAll(async () => {
  await useTestBackend('cpu');
});

const SIDE = 12;

/** A white image with a dark bar: 'row' across row `at`, 'column' down column `at`, 'diagonal' from corner to corner shifted by `at` − 6. */
function bar(kind: 'row' | 'column' | 'diagonal', at: number): number[] {
  const pixels: number[] = [];
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const inked = kind === 'row' ? y === at : kind === 'column' ? x === at : x - y === at - 6;
      pixels.push(inked ? 0 : 1, inked ? 0 : 1, inked ? 0 : 1);
    }
  }
  return pixels;
}

const images = (drawings: number[][]) => tf.tensor4d(drawings.flat(), [drawings.length, SIDE, SIDE, 3]);
const KINDS = ['row', 'column', 'diagonal'] as const;
const real = images(KINDS.flatMap((kind) => [5, 6, 7].map((at) => bar(kind, at))));
const realTargets = [0, 0, 0, 1, 1, 1, 2, 2, 2];

describe('inkTemplateMatch: does the ink lie where the class puts it?', () => {
  it('matches drawings of each class, shifted a pixel, to their own class, and mislabelled ones to none', () => {
    const drawings = images([bar('row', 4), bar('column', 8), bar('diagonal', 7)]);
    expect(inkTemplateMatch(drawings, [0, 1, 2], real, realTargets)).toBe(1);
    expect(inkTemplateMatch(drawings, [1, 2, 0], real, realTargets)).toBe(0);
    drawings.dispose();
  });

  it('scores the real images left out of their own template, and counts a blank image as no match', () => {
    expect(inkTemplateMatch(real, realTargets, real, realTargets, { leaveOneOut: true })).toBe(1);
    const blank = tf.ones([2, SIDE, SIDE, 3]) as tf.Tensor4D;
    expect(inkTemplateMatch(blank, [1, 2], real, realTargets)).toBe(0);
    blank.dispose();
  });

  it('refuses targets that do not fit the images, and images of another size', () => {
    const small = tf.ones([1, 8, 8, 3]) as tf.Tensor4D;
    expect(() => inkTemplateMatch(real, [0, 1], real, realTargets)).toThrow(ShapeError);
    expect(() => inkTemplateMatch(small, [0], real, realTargets)).toThrow(/differ in size/);
    small.dispose();
  });

  it('averages over sets, each against its own real set, leaving images out where a set is its own real set', () => {
    const drawings = images([bar('row', 4), bar('column', 8), bar('diagonal', 7)]);
    const mislabelled = { pixels: drawings, targets: [1, 2, 0] };
    const realSet = { pixels: real, targets: realTargets };
    expect(meanInkMatch([{ pixels: drawings, targets: [0, 1, 2] }, mislabelled], [realSet, realSet])).toBe(0.5);
    expect(meanInkMatch([realSet], [realSet])).toBe(1);
    expect(() => meanInkMatch([realSet], [])).toThrow(/one real set per set/);
    drawings.dispose();
  });

  it('leaves no tensor behind', () => {
    const before = tf.memory().numTensors;
    inkTemplateMatch(real, realTargets, real, realTargets, { leaveOneOut: true });
    expect(tf.memory().numTensors).toBe(before);
  });
});
