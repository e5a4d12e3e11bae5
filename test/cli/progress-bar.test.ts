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
