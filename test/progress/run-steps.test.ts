import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../src/errors';
import type { RunEvent } from '../../src/progress/events';
import { runSteps } from '../../src/progress/run-steps';

/** A loop of `total` steps that records what ran, the events and the checkpoints. */
function recorder() {
  const ran: number[] = [];
  const events: RunEvent[] = [];
  const saved: number[] = [];
  return {
    ran,
    events,
    saved,
    onEvent: (e: RunEvent) => events.push(e),
    checkpoint: (done: number) => {
      saved.push(done);
      return `ckpt-${done}`;
    },
    step: (n: number) => {
      ran.push(n);
      return { loss: 1 / n };
    },
  };
}

describe('runSteps', () => {
  it("runs steps done+1 … total, each followed by its step event with the step's metrics", async () => {
    const r = recorder();
    await runSteps({ run: 'toy', total: 5, done: 2, onEvent: r.onEvent }, r.step);
    expect(r.ran).toEqual([3, 4, 5]);
    expect(r.events).toEqual([3, 4, 5].map((step) => ({ kind: 'step', run: 'toy', step, totalSteps: 5, metrics: { loss: 1 / step } })));
  });

  it('checkpoints after every checkpointEvery-th step and after the last one, with a checkpoint event each', async () => {
    const r = recorder();
    await runSteps({ run: 'toy', total: 7, checkpoint: r.checkpoint, checkpointEvery: 3, onEvent: r.onEvent }, r.step);
    expect(r.saved).toEqual([3, 6, 7]);
    const kinds = r.events.map((e) =>
      e.kind === 'checkpoint' ? `checkpoint ${e.step} ${e.path}` : `${e.kind} ${(e as { step: number }).step}`,
    );
    expect(kinds).toEqual([
      'step 1',
      'step 2',
      'step 3',
      'checkpoint 3 ckpt-3',
      'step 4',
      'step 5',
      'step 6',
      'checkpoint 6 ckpt-6',
      'step 7',
      'checkpoint 7 ckpt-7',
    ]);
  });

  it('finishes early when finishedEarly says so: a checkpoint at that step, a `finished early` event, no error', async () => {
    const r = recorder();
    await runSteps(
      { run: 'toy', total: 9, checkpoint: r.checkpoint, checkpointEvery: 4, onEvent: r.onEvent, finishedEarly: () => r.ran.length === 5 },
      r.step,
    );
    expect(r.ran).toEqual([1, 2, 3, 4, 5]);
    expect(r.saved).toEqual([4, 5]);
    expect(r.events.at(-1)).toEqual({ kind: 'phase', run: 'toy', phase: 'finished early', message: 'after 5 of 9 steps' });
  });

  it('emits no checkpoint event when the hook saves nothing (returns null)', async () => {
    const events: RunEvent[] = [];
    await runSteps({ run: 'toy', total: 2, checkpoint: () => null, onEvent: (e) => events.push(e) }, () => ({}));
    expect(events.map((e) => e.kind)).toEqual(['step', 'step']);
  });

  it('stops before the first step when the signal is already aborted: saves, says so, throws CancelledError', async () => {
    const r = recorder();
    const run = runSteps({ run: 'toy', total: 4, checkpoint: r.checkpoint, onEvent: r.onEvent, signal: AbortSignal.abort() }, r.step);
    await expect(run).rejects.toThrow(new CancelledError('toy stopped after 0 of 4 steps; state saved to ckpt-0'));
    expect(r.ran).toEqual([]);
    expect(r.saved).toEqual([0]);
    expect(r.events).toEqual([
      { kind: 'checkpoint', run: 'toy', step: 0, path: 'ckpt-0' },
      { kind: 'phase', run: 'toy', phase: 'stopped', message: 'after 0 of 4 steps' },
    ]);
  });

  it('stops mid-run before the next step, saving the state of the steps done once', async () => {
    const r = recorder();
    const controller = new AbortController();
    const run = runSteps(
      { run: 'toy', total: 10, checkpoint: r.checkpoint, checkpointEvery: 4, signal: controller.signal, onEvent: r.onEvent },
      (n) => {
        if (n === 6) controller.abort();
        return r.step(n);
      },
    );
    await expect(run).rejects.toThrow(new CancelledError('toy stopped after 6 of 10 steps; state saved to ckpt-6'));
    expect(r.ran).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.saved).toEqual([4, 6]);
  });

  it('does not save again on a stop right after a checkpoint, and names where the state is', async () => {
    const r = recorder();
    const controller = new AbortController();
    const run = runSteps({ run: 'toy', total: 10, checkpoint: r.checkpoint, checkpointEvery: 2, signal: controller.signal }, (n) => {
      if (n === 4) controller.abort();
      return r.step(n);
    });
    await expect(run).rejects.toThrow(new CancelledError('toy stopped after 4 of 10 steps; state saved to ckpt-4'));
    expect(r.saved).toEqual([2, 4]);
  });

  it('says "nothing saved" and uses the unit when there is no checkpoint hook', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(runSteps({ run: 'evaluate', total: 3, unit: 'episodes', signal: controller.signal }, () => ({}))).rejects.toThrow(
      new CancelledError('evaluate stopped after 0 of 3 episodes; nothing saved'),
    );
  });

  it('yields to the event loop between steps, so an abort from a timer or I/O callback arrives', async () => {
    const controller = new AbortController();
    const ran: number[] = [];
    setImmediate(() => controller.abort()); // fires only if a step gives the event loop a turn
    const run = runSteps({ run: 'busy', total: 1000, signal: controller.signal }, (n) => {
      ran.push(n);
      return {};
    });
    await expect(run).rejects.toThrow(CancelledError);
    expect(ran.length).toBeGreaterThan(0);
    expect(ran.length).toBeLessThan(5);
  });

  it('awaits asynchronous steps in order and passes their errors through unchanged', async () => {
    const ran: number[] = [];
    await runSteps({ run: 'async', total: 3 }, async (n) => {
      await new Promise((r) => setTimeout(r, 3 - n));
      ran.push(n);
      return {};
    });
    expect(ran).toEqual([1, 2, 3]);
    const failure = new Error('step 2 broke');
    await expect(
      runSteps({ run: 'async', total: 3 }, (n) => {
        if (n === 2) throw failure;
        return {};
      }),
    ).rejects.toBe(failure);
  });
});
