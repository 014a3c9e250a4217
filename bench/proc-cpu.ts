/**
 * CPU time of processes this benchmark did not start in Node: the embedded Postgres (its
 * postmaster and every backend under it) and anvil, read from Linux `/proc`. A sampler reads
 * them once a second, so a backend that exits during a measurement loses at most its last
 * second; whole-machine busy time comes from `/proc/stat`. Elsewhere than Linux, or for a
 * Postgres or chain this process cannot see (DATABASE_URL, RPC_URLS), the numbers are absent.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Clock ticks per second of `/proc` times (USER_HZ; 100 on Linux x86-64 and arm64). */
const HZ = 100;

interface ProcStat {
  ppid: number;
  /** utime + stime, in seconds. */
  cpuSeconds: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: split after its closing one.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / HZ };
  } catch {
    return undefined;
  }
}

/** The postmaster's pid from `postmaster.pid` in the cluster directory. */
export function postmasterPid(clusterDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** `root` and every process below it, with their CPU seconds. */
function tree(root: number): Map<number, number> {
  const out = new Map<number, number>();
  const rootStat = readStat(root);
  if (!rootStat) return out;
  out.set(root, rootStat.cpuSeconds);
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return out;
  }
  const stats = new Map<number, ProcStat>();
  for (const pid of pids) {
    const s = readStat(pid);
    if (s) stats.set(pid, s);
  }
  // Descendants: repeat until no new child is found (Postgres' tree is two levels deep).
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, s] of stats) {
      if (!out.has(pid) && out.has(s.ppid)) {
        out.set(pid, s.cpuSeconds);
        grew = true;
      }
    }
  }
  return out;
}

/** Busy and total jiffies of the whole machine. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** CPU seconds per named group over a sampled interval, and the machine's busy share. */
export interface CpuDelta {
  /** CPU seconds spent by each group's processes; absent when the group could not be read. */
  seconds: Record<string, number | undefined>;
  /** Share of the whole machine's CPU time that was busy (0-1; all cores together). */
  machineBusy: number | undefined;
}

/**
 * Samples the process trees of `roots` (group name → root pid) once a second until stopped.
 * @returns `stop`, which takes a last sample and reports the CPU each group spent since the start.
 */
export function sampleCpu(roots: Record<string, number | undefined>): { stop: () => CpuDelta } {
  const first = new Map<string, Map<number, number>>();
  const last = new Map<string, Map<number, number>>();
  const sample = (initial: boolean) => {
    for (const [name, root] of Object.entries(roots)) {
      if (root === undefined) continue;
      const now = tree(root);
      const f = first.get(name) ?? new Map<number, number>();
      const l = last.get(name) ?? new Map<number, number>();
      for (const [pid, sec] of now) {
        // A process first seen after the start was born during the interval: it counts from 0.
        if (!f.has(pid)) f.set(pid, initial ? sec : 0);
        l.set(pid, sec);
      }
      first.set(name, f);
      last.set(name, l);
    }
  };
  const machineStart = machineTicks();
  sample(true);
  const timer = setInterval(() => sample(false), 1_000);
  return {
    stop: () => {
      clearInterval(timer);
      sample(false);
      const machineEnd = machineTicks();
      const seconds: Record<string, number | undefined> = {};
      for (const name of Object.keys(roots)) {
        const f = first.get(name);
        const l = last.get(name);
        if (!f || !l || f.size === 0) {
          seconds[name] = undefined;
          continue;
        }
        let sum = 0;
        for (const [pid, sec] of l) sum += sec - (f.get(pid) ?? 0);
        seconds[name] = sum;
      }
      const machineBusy = machineStart && machineEnd && machineEnd.total > machineStart.total ? (machineEnd.busy - machineStart.busy) / (machineEnd.total - machineStart.total) : undefined;
      return { seconds, machineBusy };
    },
  };
}
