/**
 * Preloaded into a VaultPilot server process that a benchmark starts as a child
 * (`node --import <this file> server/main.ts`, bench/baseline-server.ts): counts the SQL
 * statements the process runs (db-count.ts; every pool, tag `other`) and answers the parent's
 * `probe` message on the IPC channel with them, the process's CPU time and its main thread's
 * event-loop time, all counted since the process started. It patches only the `pg` module the
 * server resolves, so it works for a server of another git ref as long as that checkout uses
 * this tree's `node_modules` (a symlink resolves to the same module).
 */
import { performance } from 'node:perf_hooks';
import { installSqlCounter, sqlCounts } from './db-count.ts';

/** What a probed server process has done since it started. */
export interface ProbeReading {
  /** SQL statements sent, on every pool of the process (kysely's and pg-boss's). */
  statements: number;
  /** Time those statements took, from sending to their result, ms. */
  sqlMs: number;
  /** CPU time of the process (user + system, every thread), ms. */
  cpuMs: number;
  /** Main-thread event loop: active and idle time, ms. */
  loopActiveMs: number;
  loopIdleMs: number;
}

/** The message the parent sends to ask for a {@link ProbeReading}, and the type of the answer. */
export const PROBE_MESSAGE = 'vaultpilot-bench-probe';

/** This process's reading now. */
function reading(): ProbeReading {
  let statements = 0;
  let sqlMs = 0;
  for (const t of sqlCounts().values()) {
    statements += t.statements;
    sqlMs += t.ms;
  }
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  return { statements, sqlMs, cpuMs: (cpu.user + cpu.system) / 1000, loopActiveMs: elu.active, loopIdleMs: elu.idle };
}

installSqlCounter();
if (process.send) {
  process.on('message', (m: unknown) => {
    if (m === PROBE_MESSAGE) process.send!({ type: PROBE_MESSAGE, reading: reading() });
  });
  // The channel alone must not keep the server alive once it has shut down.
  process.channel?.unref();
}
