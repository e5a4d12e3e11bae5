import { describe, expect, it } from 'vitest';
import { cpuUseBetween, parseProcStat, sampleCpu, type CpuSample } from '../../src/reproduce/cpu-use';

// user nice system idle iowait irq softirq steal guest guest_nice, in 1/100 s of all CPUs together
const STAT = 'cpu  56252 0 14561 59489 495 0 159 22 0 0\ncpu0 28000 0 7000 30000 200 0 80 11 0 0\nintr 1 2 3\n';

describe('CPU use of a run', () => {
  it('reads the aggregate line of /proc/stat', () => {
    expect(parseProcStat(STAT)).toEqual({ busy: 56252 + 14561 + 159, steal: 22, total: 56252 + 14561 + 159 + 59489 + 495 + 22 });
    expect(parseProcStat('intr 1 2 3\n')).toBeNull();
    expect(parseProcStat('cpu  1 2 x 4 5 6 7 8\n')).toBeNull();
  });

  it("splits the machine's CPU time into this process, other processes and steal", () => {
    // 10 s of wall time on 2 cores = 2000 ticks: this process 15 s of CPU (1500 ticks), others 200 ticks, steal 100
    const start: CpuSample = { wallMs: 0, processMicros: 0, machine: { busy: 1000, steal: 50, total: 5000 } };
    const end: CpuSample = { wallMs: 10_000, processMicros: 15e6, machine: { busy: 2700, steal: 150, total: 7000 } };
    const use = cpuUseBetween(start, end);
    expect(use.processCores).toBeCloseTo(1.5, 10);
    expect(use.otherProcessesShare).toBeCloseTo(0.1, 10);
    expect(use.stealShare).toBeCloseTo(0.05, 10);
  });

  it('leaves the machine-wide shares unknown without /proc/stat', () => {
    const start: CpuSample = { wallMs: 0, processMicros: 0, machine: null };
    const use = cpuUseBetween(start, { wallMs: 2000, processMicros: 1e6, machine: null });
    expect(use).toEqual({ processCores: 0.5, otherProcessesShare: null, stealShare: null });
  });

  it('measures real CPU time spent by this process', () => {
    const start = sampleCpu();
    let x = 0;
    for (let i = 0; i < 2e7; i++) x += Math.sqrt(i);
    const use = cpuUseBetween(start, sampleCpu());
    expect(x).toBeGreaterThan(0);
    expect(use.processCores).toBeGreaterThan(0.2);
    if (use.otherProcessesShare !== null) expect(use.otherProcessesShare).toBeLessThanOrEqual(1);
  });
});
