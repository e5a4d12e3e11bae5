/**
 * The one event interface of long runs (zoo tuning, inversion, meta-training, evaluation).
 * The CLI turns events into progress bars; a notebook turns them into live charts.
 */

/** A finished optimisation or evaluation step with its scalar metrics (loss, accuracy, lr, ...). */
export interface StepEvent {
  kind: 'step';
  run: string;
  step: number; // 1-based
  totalSteps: number;
  metrics: Record<string, number>;
}

/** A moment worth showing: e.g. the current surrogate images of an inversion. */
export interface SnapshotEvent {
  kind: 'snapshot';
  run: string;
  step: number;
  /** A display payload (src/display schemas) or any JSON-serialisable summary. */
  payload: unknown;
}

/** A run entered a new phase (e.g. "pruning on", "validation"). */
export interface PhaseEvent {
  kind: 'phase';
  run: string;
  phase: string;
  message?: string;
}

/** State was written to disk; a crashed or cancelled run resumes from `path`. */
export interface CheckpointEvent {
  kind: 'checkpoint';
  run: string;
  step: number;
  path: string;
}

export type RunEvent = StepEvent | SnapshotEvent | PhaseEvent | CheckpointEvent;

export type RunListener = (event: RunEvent) => void;

/** What every long run accepts besides its own options. */
export interface RunControl {
  onEvent?: RunListener;
  /** Stops the run at the next step boundary, after its state is saved. */
  signal?: AbortSignal;
}
