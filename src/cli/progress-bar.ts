import type { RunEvent, RunListener, StepEvent } from '../progress/events';

/** Where a progress bar writes: a TTY gets one redrawn line, anything else one line per update. */
export interface ProgressSink {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const BAR_WIDTH = 24;

function formatMetric(name: string, value: number): string {
  const magnitude = Math.abs(value);
  const text = magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5) ? value.toExponential(2) : value.toFixed(4);
  return `${name}=${text}`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

/** Where a run's rate is measured from, and the step it last reported. */
interface RunClock {
  time: number; // ms when `step` was reported first
  step: number;
  lastStep: number;
  totalSteps: number;
}

/**
 * The clock of `event`'s run, started afresh when a run of that name begins again: its step is
 * not past the last one (a restart or resume), its length changed, or the previous run finished.
 */
function clockFor(clocks: Map<string, RunClock>, event: StepEvent, now: number): RunClock {
  const previous = clocks.get(event.run);
  const continues =
    previous !== undefined &&
    event.step > previous.lastStep &&
    event.totalSteps === previous.totalSteps &&
    previous.lastStep < previous.totalSteps;
  const clock = continues ? previous : { time: now, step: event.step, lastStep: event.step, totalSteps: event.totalSteps };
  clock.lastStep = event.step;
  clocks.set(event.run, clock);
  return clock;
}

/**
 * Turns the run events of src/progress into progress bars: `run [####----] 12/100 eta 30s loss=0.51`.
 * The ETA comes from the rate of the current run of that name since its first step (`--` until
 * there is a second one). Non-TTY sinks (CI logs) get at most one line every `minIntervalMs` per
 * run, plus the last step. `clock` gives the time in ms (tests pass a fake one).
 */
export function progressBar(sink: ProgressSink = process.stderr, minIntervalMs = 2000, clock: () => number = Date.now): RunListener {
  const clocks = new Map<string, RunClock>();
  const lastPrinted = new Map<string, number>();
  return (event: RunEvent) => {
    const now = clock();
    if (event.kind === 'phase') {
      sink.write(`${sink.isTTY ? '\r\x1b[K' : ''}${event.run}: ${event.phase}${event.message ? ` (${event.message})` : ''}\n`);
      return;
    }
    if (event.kind === 'checkpoint') {
      if (!sink.isTTY) sink.write(`${event.run}: checkpoint at step ${event.step} -> ${event.path}\n`);
      return;
    }
    if (event.kind !== 'step') return;
    const origin = clockFor(clocks, event, now);
    const last = event.step >= event.totalSteps;
    if (!sink.isTTY && !last && now - (lastPrinted.get(event.run) ?? 0) < minIntervalMs) return;
    lastPrinted.set(event.run, now);
    const fraction = event.totalSteps > 0 ? Math.min(1, event.step / event.totalSteps) : 0;
    const filled = Math.round(fraction * BAR_WIDTH);
    const seconds = (now - origin.time) / 1000;
    const rate = seconds > 0 ? (event.step - origin.step) / seconds : 0;
    const eta = rate > 0 ? (event.totalSteps - event.step) / rate : Infinity;
    const metrics = Object.entries(event.metrics)
      .map(([name, value]) => formatMetric(name, value))
      .join(' ');
    const line = `${event.run} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${event.step}/${event.totalSteps} eta ${formatDuration(eta)} ${metrics}`;
    if (sink.isTTY) {
      const width = sink.columns ?? 120;
      sink.write(`\r\x1b[K${line.slice(0, width - 1)}${last ? '\n' : ''}`);
    } else {
      sink.write(`${line}\n`);
    }
  };
}
