import { describe, expect, it } from 'vitest';
import { loraSeed } from '../../src/random';

const MAX = 2 ** 31 - 1;
const ids = Array.from({ length: 200 }, (_, i) => `lora-${i}`);

describe('loraSeed (the seed of one LoRA in a run)', () => {
  it('is a pure function of the run seed and the LoRA id, pinned so that a run re-made later draws the same images', () => {
    expect(loraSeed(5, 'lora-0')).toBe(loraSeed(5, 'lora-0'));
    expect([loraSeed(0, 'lora-0'), loraSeed(0, 'lora-1'), loraSeed(5, 'lora-0')]).toEqual([526039968, 965109449, 1163224994]);
  });

  it('differs across LoRA ids of one run, and across run seeds for one LoRA', () => {
    expect(new Set(ids.map((id) => loraSeed(5, id))).size).toBe(ids.length);
    expect(new Set(Array.from({ length: 200 }, (_, seed) => loraSeed(seed, 'lora-0'))).size).toBe(200);
    expect(loraSeed(1, '2:x')).not.toBe(loraSeed(12, 'x')); // the seed and the id do not run into each other
  });

  it('is an integer in 0 … 2³¹ − 1 for any run seed and id (negative, large, empty, non-ASCII)', () => {
    const seeds = [0, 1, -1, -3, 5, 2 ** 31 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
    const names = ['', 'lora-0', 'émoji 😀', 'a'.repeat(1000), ...ids];
    for (const seed of seeds) {
      for (const id of names) {
        const value = loraSeed(seed, id);
        expect(Number.isInteger(value) && value >= 0 && value <= MAX, `${seed} ${id}`).toBe(true);
      }
    }
  });
});
