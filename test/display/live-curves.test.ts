import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveCurves, MIME, splitOfMetric, type CurvesPayload } from '../../src/display';

const DISPLAY = Symbol.for('Jupyter.display');

/** A fake `jupyter` global recording what LiveCurves publishes. */
function fakeJupyter() {
  const sent: Array<{ kind: 'display' | 'update'; payload: CurvesPayload }> = [];
  const record = (kind: 'display' | 'update') => (value: unknown) => {
    const bundle = (value as { [DISPLAY](): Record<string, unknown> })[DISPLAY]();
    sent.push({ kind, payload: bundle[MIME.curves] as CurvesPayload });
  };
  return { sent, api: { newDisplay: () => ({ display: record('display'), update: record('update') }) } };
}

afterEach(() => {
  delete (globalThis as { jupyter?: unknown }).jupyter;
});

describe('LiveCurves', () => {
  it('shows once, then updates in place at most once per throttle interval', () => {
    let now = 0;
    const j = fakeJupyter();
    const curves = new LiveCurves({ jupyter: j.api, throttleMs: 100, now: () => now });
    curves.add('loss', 'train', 1, 1.0);
    expect(j.sent.map((s) => s.kind)).toEqual(['display']);
    now = 50;
    curves.add('loss', 'train', 2, 0.5);
    expect(j.sent).toHaveLength(1); // throttled
    now = 120;
    curves.add('loss', 'train', 3, 0.25);
    expect(j.sent.map((s) => s.kind)).toEqual(['display', 'update']);
    expect(j.sent[1].payload.series[0].y).toEqual([1.0, 0.5, 0.25]);
    curves.finish();
    const last = j.sent[j.sent.length - 1].payload;
    expect(last).toMatchObject({ running: false, stoppable: false });
  });

  it('sends the throttled points later from a timer', () => {
    vi.useFakeTimers();
    try {
      let now = 0;
      const j = fakeJupyter();
      const curves = new LiveCurves({ jupyter: j.api, throttleMs: 100, now: () => now });
      curves.add('loss', 'train', 1, 1);
      now = 10;
      curves.add('loss', 'train', 2, 0.5);
      expect(j.sent).toHaveLength(1);
      now = 100;
      vi.advanceTimersByTime(100);
      expect(j.sent).toHaveLength(2);
      expect(j.sent[1].payload.series[0].x).toEqual([1, 2]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('runs outside a kernel without publishing and still displays itself', () => {
    const curves = new LiveCurves({ title: 't', run: 'r' });
    curves.addMetrics(1, { loss: 2, val_loss: 3, 'validation/accuracy': 0.5, lr: 0.001 });
    curves.finish();
    expect(curves.updates).toBe(0);
    const bundle = (curves as unknown as Record<symbol, () => Record<string, unknown>>)[DISPLAY]();
    const p = bundle[MIME.curves] as CurvesPayload;
    expect(p.series.map((s) => `${s.metric}/${s.split}`)).toEqual(['loss/train', 'loss/validation', 'accuracy/validation', 'lr/train']);
    expect(bundle['text/plain']).toContain('[r]');
  });

  it('uses globalThis.jupyter when it offers newDisplay, and is a RunListener', () => {
    const j = fakeJupyter();
    (globalThis as { jupyter?: unknown }).jupyter = j.api;
    const curves = new LiveCurves({ throttleMs: 0 });
    curves.onEvent({ kind: 'step', run: 'r', step: 1, totalSteps: 2, metrics: { loss: 1, accuracy: 0.5 } });
    curves.onEvent({ kind: 'phase', run: 'r', phase: 'validation' });
    curves.onEvent({ kind: 'step', run: 'r', step: 2, totalSteps: 2, metrics: { loss: 0.5, accuracy: 0.75 } });
    expect(j.sent.length).toBeGreaterThanOrEqual(2);
    expect(j.sent[j.sent.length - 1].payload.series.find((s) => s.metric === 'accuracy')!.y).toEqual([0.5, 0.75]);
    expect(j.sent[0].payload).toMatchObject({ running: true, stoppable: true });
  });

  it('skips non-finite points and thins long series to the point limit', () => {
    const curves = new LiveCurves({ jupyter: null });
    curves.add('loss', 'train', 1, Number.NaN);
    expect(curves.payload().series).toHaveLength(0);
    for (let i = 1; i <= 20_001; i++) curves.add('loss', 'train', i, 1 / i);
    const s = curves.payload().series[0];
    expect(s.x.length).toBeLessThanOrEqual(20_000);
    expect(s.x[s.x.length - 1]).toBe(20_001);
    expect(s.x.length).toBe(s.y.length);
  });

  it('splits metric keys into train and validation', () => {
    expect(splitOfMetric('val_accuracy')).toEqual({ metric: 'accuracy', split: 'validation' });
    expect(splitOfMetric('loss')).toEqual({ metric: 'loss', split: 'train' });
  });
});
