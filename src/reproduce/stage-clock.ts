/**
 * Wall seconds per named stage of a run. A stage runs from its `start` until the next `start`
 * or `stop`; a name started twice (one evaluation block after another) adds up.
 */
export class StageClock {
  private readonly totals: Record<string, number> = {};
  private current: { name: string; since: number } | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  start(name: string): void {
    this.stop();
    this.current = { name, since: this.now() };
  }

  stop(): void {
    if (!this.current) return;
    const { name, since } = this.current;
    this.totals[name] = (this.totals[name] ?? 0) + (this.now() - since) / 1000;
    this.current = null;
  }

  /** Seconds per finished stage (a stage still running is not counted until it stops). */
  seconds(): Record<string, number> {
    return { ...this.totals };
  }
}
