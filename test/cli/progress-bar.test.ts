import { describe, expect, it } from 'vitest';
import { progressBar } from '../../src/cli/progress-bar';

function sink(isTTY: boolean) {
  const lines: string[] = [];
  return { isTTY, columns: 200, write: (text: string) => lines.push(text), lines };
}

describe('progressBar', () => {
  it('draws a bar with the step count and metrics for a step event', () => {
    const out = sink(false);
    const listener = progressBar(out, 0);
    listener({ kind: 'step', run: 'invert', step: 5, totalSteps: 10, metrics: { loss: 0.5 } });
    expect(out.lines[0]).toMatch(/^invert \[#{12}-{12}\] 5\/10 eta .* loss=0\.5000\n$/);
  });

  it('prints at most one line per interval on a non-TTY sink, but always the last step', () => {
    const out = sink(false);
    const listener = progressBar(out, 60_000);
    for (let step = 1; step <= 50; step++) listener({ kind: 'step', run: 'r', step, totalSteps: 50, metrics: {} });
    expect(out.lines.length).toBe(2);
    expect(out.lines[1]).toContain('50/50');
  });

  it('redraws one line on a TTY and ends it with a newline at the last step', () => {
    const out = sink(true);
    const listener = progressBar(out);
    listener({ kind: 'step', run: 'r', step: 1, totalSteps: 2, metrics: {} });
    listener({ kind: 'step', run: 'r', step: 2, totalSteps: 2, metrics: {} });
    expect(out.lines.every((line) => line.startsWith('\r\x1b[K'))).toBe(true);
    expect(out.lines[1].endsWith('\n')).toBe(true);
    expect(out.lines[0].endsWith('\n')).toBe(false);
  });

  it('reports phases on their own line', () => {
    const out = sink(false);
    progressBar(out)({ kind: 'phase', run: 'invert', phase: 'pruning on', message: 'step 50' });
    expect(out.lines[0]).toBe('invert: pruning on (step 50)\n');
  });
});

describe('progressBar ETA', () => {
  /** A listener on a fake clock; `at(seconds, step)` reports a step of run `r` (10 steps) at that time. */
  function timed() {
    const out = sink(false);
    let now = 0;
    const listener = progressBar(out, 0, () => now);
    return {
      at(seconds: number, step: number, totalSteps = 10): string {
        now = seconds * 1000;
        listener({ kind: 'step', run: 'r', step, totalSteps, metrics: {} });
        return /eta (\S+)/.exec(out.lines[out.lines.length - 1])![1];
      },
    };
  }

  it('estimates from the rate of the run so far, unknown until a second step', () => {
    const bar = timed();
    expect(bar.at(0, 1)).toBe('--');
    expect(bar.at(2, 3)).toBe('7s'); // 1 step/s, 7 to go
  });

  it('starts afresh when a new run of the same name begins after the last one finished', () => {
    const bar = timed();
    for (let step = 1; step <= 10; step++) bar.at(step, step);
    expect(bar.at(3600, 1)).toBe('--');
    expect(bar.at(3602, 2)).toBe('16s'); // 2 s/step, 8 to go: not the hour since the first run began
  });

  it('starts afresh when a run restarts at or before its last step (a resume)', () => {
    const bar = timed();
    bar.at(0, 1);
    bar.at(1, 2);
    bar.at(2, 3);
    expect(bar.at(1000, 3)).toBe('--');
    expect(bar.at(1001, 4)).toBe('6s');
  });

  it('starts afresh when a run of the same name has a different length', () => {
    const bar = timed();
    bar.at(0, 1);
    bar.at(1, 2);
    expect(bar.at(500, 3, 100)).toBe('--');
    expect(bar.at(503, 4, 100)).toBe('4m48s'); // 3 s/step, 96 to go
  });
});
