/**
 * LiveCurves: training curves that redraw in place while a run goes on. In our kernel (and any
 * kernel offering `globalThis.jupyter.newDisplay()`) it shows one output and replaces it with
 * `update_display_data`, at most every `throttleMs`; elsewhere it only collects points, and still
 * displays itself as a cell result through `Symbol.for("Jupyter.display")`.
 */
import type { RunEvent } from '../progress/events';
import { asDisplay, curvesBundle, type MimeBundle } from './bundles';
import { LIMITS, type CurvesPayload, type CurveSeries, type CurveSplit } from './payloads';
import { ConfigError } from '../errors';

/** What LiveCurves needs of a display handle (the kernel's `jupyter.newDisplay()`). */
export interface DisplayHandleLike {
  display(value: unknown): void;
  update(value: unknown): void;
}

export interface JupyterLike {
  newDisplay(): DisplayHandleLike;
}

export interface LiveCurvesOptions {
  title?: string;
  /** run id shown with the curves */
  run?: string;
  /** offer the extension's Stop button while running (default true) */
  stoppable?: boolean;
  xLabel?: string;
  /** minimum time between two display updates, ms (default 250) */
  throttleMs?: number;
  /** the display API; default `globalThis.jupyter` when it has `newDisplay` */
  jupyter?: JupyterLike | null;
  /** clock in ms, for tests (default Date.now) */
  now?: () => number;
}

const VALIDATION_PREFIX = /^(val|validation)[_/]/;

/** `val_loss` / `validation/loss` → validation split of "loss"; anything else is train. */
export function splitOfMetric(key: string): { metric: string; split: CurveSplit } {
  return VALIDATION_PREFIX.test(key)
    ? { metric: key.replace(VALIDATION_PREFIX, ''), split: 'validation' }
    : { metric: key, split: 'train' };
}

function kernelDisplayApi(): JupyterLike | null {
  const j = (globalThis as { jupyter?: Partial<JupyterLike> }).jupyter;
  return j && typeof j.newDisplay === 'function' ? (j as JupyterLike) : null;
}

export class LiveCurves {
  private readonly series = new Map<string, CurveSeries>();
  private readonly jupyter: JupyterLike | null;
  private readonly throttleMs: number;
  private readonly now: () => number;
  private handle: DisplayHandleLike | null = null;
  private lastSent = -Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = true;
  /** display updates sent so far (first display included) */
  updates = 0;

  constructor(private readonly options: LiveCurvesOptions = {}) {
    this.throttleMs = options.throttleMs ?? 250;
    if (!(this.throttleMs >= 0)) throw new ConfigError(`LiveCurves: expected throttleMs ≥ 0, found ${options.throttleMs}`);
    this.jupyter = options.jupyter === undefined ? kernelDisplayApi() : options.jupyter;
    this.now = options.now ?? Date.now;
  }

  /** Adds one point (step, value) to the series `metric`/`split` and schedules a redraw. */
  add(metric: string, split: CurveSplit, step: number, value: number): void {
    if (!Number.isFinite(step) || !Number.isFinite(value)) return; // a NaN loss is not drawable; skip it
    const key = `${split}\u0000${metric}`;
    let s = this.series.get(key);
    if (!s) {
      s = { metric, split, x: [], y: [] };
      this.series.set(key, s);
    }
    s.x.push(step);
    s.y.push(value);
    if (s.x.length > LIMITS.points) halve(s);
    this.schedule();
  }

  /** Adds every metric of a step; keys with a `val_` / `validation/` prefix go to the validation split. */
  addMetrics(step: number, metrics: Record<string, number>): void {
    for (const [key, value] of Object.entries(metrics)) {
      const { metric, split } = splitOfMetric(key);
      this.add(metric, split, step, value);
    }
  }

  /** A RunListener: pass as `onEvent` of a long run to chart its step metrics. */
  readonly onEvent = (event: RunEvent): void => {
    if (event.kind === 'step') this.addMetrics(event.step, event.metrics);
  };

  /** Marks the run finished (no Stop button any more) and draws the final state. */
  finish(): void {
    this.running = false;
    this.flush();
  }

  /** Sends the current curves now (shows the output the first time). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.jupyter) return;
    const bundle = asDisplay(this.bundle()); // displays through Symbol.for("Jupyter.display")
    if (this.handle) this.handle.update(bundle);
    else {
      this.handle = this.jupyter.newDisplay();
      this.handle.display(bundle);
    }
    this.lastSent = this.now();
    this.updates++;
  }

  payload(): CurvesPayload {
    const o = this.options;
    return {
      version: 1,
      title: o.title,
      run: o.run,
      running: this.running,
      stoppable: this.running && (o.stoppable ?? true),
      xLabel: o.xLabel ?? 'step',
      series: [...this.series.values()].map((s) => ({ ...s, x: [...s.x], y: [...s.y] })),
    };
  }

  bundle(): MimeBundle {
    return curvesBundle(this.payload());
  }

  [Symbol.for('Jupyter.display')](): MimeBundle {
    return this.bundle();
  }

  private schedule(): void {
    if (!this.jupyter) return;
    const wait = this.lastSent + this.throttleMs - this.now();
    if (wait <= 0) {
      this.flush();
      return;
    }
    if (this.timer) return;
    // trailing update for the last points; unref'd so a finished script can exit
    this.timer = setTimeout(() => this.flush(), wait);
    (this.timer as { unref?: () => void }).unref?.();
  }
}

/** Keeps every second point (and the last) once a series reaches the point limit. */
function halve(s: CurveSeries): void {
  const keep = (_: number, i: number) => i % 2 === 0 || i === s.x.length - 1;
  s.x = s.x.filter(keep);
  s.y = s.y.filter((_, i) => i % 2 === 0 || i === s.y.length - 1);
}
