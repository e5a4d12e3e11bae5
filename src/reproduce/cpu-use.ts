import * as fs from 'fs';

/**
 * Where a run's CPU time went, so that its wall time can be read: the same work took 81 min on
 * one 2-core machine and 29 min on another. This process's CPU time (all its threads),
 * and, from Linux's /proc/stat, the share of the machine's CPU time other processes took and the
 * share the hypervisor gave to other machines (steal).
 */
export interface CpuUse {
  processCores: number; // this process's CPU seconds per wall second (2 = both cores of 2 all the time)
  otherProcessesShare: number | null; // of the machine's CPU time, busy in other processes; null without /proc/stat
  stealShare: number | null; // of the machine's CPU time, taken by the hypervisor (steal); null without /proc/stat
}

/** Jiffies of every CPU together, from the first line of /proc/stat. */
interface MachineTicks {
  busy: number; // user + nice + system + irq + softirq
  steal: number;
  total: number; // busy + idle + iowait + steal
}

export interface CpuSample {
  wallMs: number;
  processMicros: number; // user + system, process.cpuUsage()
  machine: MachineTicks | null;
}

/** Linux's USER_HZ: /proc/stat counts in 1/100 s on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** The aggregate `cpu` line of a /proc/stat text; null when it is not there. */
export function parseProcStat(text: string): MachineTicks | null {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return null;
  const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  if ([user, nice, system, idle, iowait, irq, softirq, steal].some((v) => !Number.isFinite(v))) return null;
  const busy = user + nice + system + irq + softirq;
  return { busy, steal, total: busy + idle + iowait + steal };
}

function readMachineTicks(): MachineTicks | null {
  try {
    return parseProcStat(fs.readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null; // not Linux: the machine's shares are unknown
  }
}

/** Now: wall clock, this process's CPU time, the machine's ticks. */
export function sampleCpu(readTicks: () => MachineTicks | null = readMachineTicks): CpuSample {
  const usage = process.cpuUsage();
  return { wallMs: Date.now(), processMicros: usage.user + usage.system, machine: readTicks() };
}

/** What happened between two samples. */
export function cpuUseBetween(start: CpuSample, end: CpuSample): CpuUse {
  const wall = Math.max(1e-3, (end.wallMs - start.wallMs) / 1000);
  const processSeconds = (end.processMicros - start.processMicros) / 1e6;
  const share = (select: (ticks: MachineTicks) => number, minus = 0): number | null => {
    if (!start.machine || !end.machine) return null;
    const total = end.machine.total - start.machine.total;
    if (total <= 0) return null;
    return Math.min(1, Math.max(0, (select(end.machine) - select(start.machine) - minus) / total));
  };
  return {
    processCores: processSeconds / wall,
    otherProcessesShare: share((t) => t.busy, processSeconds * TICKS_PER_SECOND),
    stealShare: share((t) => t.steal),
  };
}
