import { describe, expect, it } from 'vitest';
import { StageClock } from '../../src/reproduce/stage-clock';

describe('StageClock', () => {
  it('times each stage until the next starts, adds up repeated stages, and counts only finished ones', () => {
    let now = 0;
    const clock = new StageClock(() => now);
    clock.start('zoo');
    now = 2000;
    clock.start('evaluation');
    now = 2500;
    clock.start('pruning');
    now = 4000;
    clock.start('evaluation');
    now = 5000;
    expect(clock.seconds()).toEqual({ zoo: 2, evaluation: 0.5, pruning: 1.5 });
    clock.stop();
    expect(clock.seconds()).toEqual({ zoo: 2, evaluation: 1.5, pruning: 1.5 });
  });
});
