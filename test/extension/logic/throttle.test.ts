import { describe, expect, it } from 'vitest';
import { Throttle, type Timers } from '../../../extension/src/logic/throttle';

describe('throttle', () => {
  it('runs the first call at once and collapses later ones into one trailing call', () => {
    let now = 0;
    const pending: Array<() => void> = [];
    const timers: Timers = { now: () => now, setTimeout: (fn) => pending.push(fn), clearTimeout: () => pending.splice(0) };
    const seen: number[] = [];
    const t = new Throttle<number>((v) => seen.push(v), 100, timers);
    t.call(1);
    t.call(2);
    t.call(3);
    expect(seen).toEqual([1]);
    now = 100;
    pending.shift()!();
    expect(seen).toEqual([1, 3]);
    now = 250;
    t.call(4);
    expect(seen).toEqual([1, 3, 4]);
  });
});
