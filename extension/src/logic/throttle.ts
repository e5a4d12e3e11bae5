/**
 * Leading + trailing throttle: the first call runs at once, calls within `intervalMs` after it
 * collapse into one trailing call with the latest argument. DOM-free (timers injected for tests).
 */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const defaultTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class Throttle<T> {
  private last = -Infinity;
  private pending: { value: T } | null = null;
  private handle: unknown = null;

  constructor(
    private readonly run: (value: T) => void,
    private readonly intervalMs: number,
    private readonly timers: Timers = defaultTimers,
  ) {}

  call(value: T): void {
    const wait = this.last + this.intervalMs - this.timers.now();
    if (wait <= 0 && this.handle === null) {
      this.fire(value);
      return;
    }
    this.pending = { value };
    if (this.handle === null) this.handle = this.timers.setTimeout(() => this.flush(), Math.max(0, wait));
  }

  /** Runs the pending call now, if any. */
  flush(): void {
    if (this.handle !== null) this.timers.clearTimeout(this.handle);
    this.handle = null;
    const p = this.pending;
    this.pending = null;
    if (p) this.fire(p.value);
  }

  cancel(): void {
    if (this.handle !== null) this.timers.clearTimeout(this.handle);
    this.handle = null;
    this.pending = null;
  }

  private fire(value: T): void {
    this.last = this.timers.now();
    this.run(value);
  }
}
