/**
 * The one step loop of long runs (zoo building, inversion, meta-training, supervised training,
 * evaluation): abort check, step events, a yield to the event loop, checkpoints.
 *
 * Stop policy, the same for every run: the AbortSignal is checked before each step; when it is
 * aborted the checkpoint hook saves the state of the steps done (if it was not saved at that step
 * already), a `stopped` phase event is emitted, and the run throws CancelledError naming the steps
 * done and where the state is. A stopped run never returns: a result always means a finished run,
 * so no caller can mistake partial work for a whole one (a Jupyter cell then ends with that error
 * and the cells queued behind it are not run, as on an interrupt; the CLI prints it and exits).
 * What a stopped run keeps is what its checkpoints wrote; the same call resumes from it where the
 * run supports resuming.
 */
import { CancelledError } from '../errors';
import type { RunControl } from './events';

export interface StepLoop extends RunControl {
  run: string; // name in events and in the CancelledError
  total: number; // steps of the whole run
  done?: number; // steps done before this call (a resumed run), default 0
  unit?: string; // what a step is, in the stop message ("steps", "episodes", "LoRAs"); default "steps"
  /**
   * Saves the state after `done` steps; returns where it is (null: not saved). Called after every
   * `checkpointEvery`-th step, after the last step, and on a stop.
   */
  checkpoint?: (done: number) => string | null | Promise<string | null>;
  checkpointEvery?: number; // default 1: after every step
  /**
   * An early finish (e.g. validation that stopped improving), asked before each step: true ends
   * the run as finished after `done` steps, with a checkpoint there (so a resume finishes too)
   * and a `finished early` phase event.
   */
  finishedEarly?: () => boolean;
}

/** One step: `step` is 1-based; returns the metrics of its step event. */
export type Step = (step: number) => Record<string, number> | Promise<Record<string, number>>;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs steps done+1 … total (fewer when finishedEarly says so): each followed by its step event,
 * a checkpoint when one is due, and a yield to the event loop (so an abort, or a kernel request,
 * can arrive between steps).
 * Throws CancelledError when the signal stops it (see the stop policy above).
 */
export async function runSteps(loop: StepLoop, step: Step): Promise<void> {
  const every = loop.checkpointEvery ?? 1;
  const unit = loop.unit ?? 'steps';
  let savedAt = -1;
  let savedTo: string | null = null;
  const checkpoint = async (done: number) => {
    if (!loop.checkpoint) return;
    savedTo = await loop.checkpoint(done);
    savedAt = done;
    if (savedTo !== null) loop.onEvent?.({ kind: 'checkpoint', run: loop.run, step: done, path: savedTo });
  };
  for (let done = loop.done ?? 0; done < loop.total; done++) {
    if (loop.signal?.aborted) {
      if (savedAt !== done) await checkpoint(done);
      const where = savedTo !== null ? `state saved to ${savedTo}` : 'nothing saved';
      loop.onEvent?.({ kind: 'phase', run: loop.run, phase: 'stopped', message: `after ${done} of ${loop.total} ${unit}` });
      throw new CancelledError(`${loop.run} stopped after ${done} of ${loop.total} ${unit}; ${where}`);
    }
    if (loop.finishedEarly?.()) {
      if (savedAt !== done) await checkpoint(done);
      loop.onEvent?.({ kind: 'phase', run: loop.run, phase: 'finished early', message: `after ${done} of ${loop.total} ${unit}` });
      return;
    }
    const n = done + 1;
    const metrics = await step(n);
    loop.onEvent?.({ kind: 'step', run: loop.run, step: n, totalSteps: loop.total, metrics });
    if (n % every === 0 || n === loop.total) await checkpoint(n);
    await nextTurn();
  }
}
