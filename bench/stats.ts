/**
 * Timing loops and summaries for the benchmark: a sequential loop, a closed-loop concurrent one
 * (a fixed number of calls in flight, each worker taking the next call when its last one ends),
 * and p50 / p99 / calls-per-second over the recorded latencies. Warm-up calls run first and are
 * not recorded.
 */
import { performance as loop } from 'node:perf_hooks';

/** Latency and throughput of one measured phase. */
export interface Summary {
  /** Calls recorded (warm-up excluded). */
  n: number;
  /** Calls in flight at once (1 = sequential). */
  concurrency: number;
  /** Unrecorded warm-up calls made before the measured ones. */
  warmup: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  /** Wall time of the measured calls, first start to last end. */
  wallMs: number;
  /** n / wall time. */
  callsPerSec: number;
  /** CPU time (user + system) of this whole Node process per measured call: load generator, server, worker. */
  cpuMsPerCall: number;
  /** Share of the measured wall time the main thread's event loop was busy (0-1); near 1 means Node's one thread was the limit. */
  eventLoopBusy: number;
}

/**
 * Nearest-rank percentile of an ascending array.
 * @param sorted - latencies sorted ascending; must not be empty.
 * @param p - 0 to 100.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of an empty sample');
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/**
 * Summarizes recorded latencies.
 * @param latenciesMs - one entry per measured call.
 * @param wallMs - wall time of the measured part.
 * @param concurrency - calls in flight (reported as is).
 * @param warmup - unrecorded calls made before (reported as is).
 * @param cpuMs - process CPU time spent during the measured calls.
 * @param eventLoopBusy - event loop utilization during the measured calls (0-1).
 */
export function summarize(latenciesMs: readonly number[], wallMs: number, concurrency: number, warmup = 0, cpuMs = Number.NaN, eventLoopBusy = Number.NaN): Summary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    concurrency,
    warmup,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    meanMs: sum / sorted.length,
    minMs: sorted[0]!,
    maxMs: sorted[sorted.length - 1]!,
    wallMs,
    callsPerSec: (sorted.length / wallMs) * 1000,
    cpuMsPerCall: cpuMs / sorted.length,
    eventLoopBusy,
  };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

/**
 * The raw measurements of one timed run, so that several runs of the same thing (blocks
 * interleaved with another arm's, see {@link summarizeSamples}) can be summarized as one.
 */
export interface Sample {
  /** One entry per measured call, ms. */
  latenciesMs: number[];
  /** Wall time of the measured calls, ms. */
  wallMs: number;
  /** Process CPU time (user + system) during the measured calls, ms. */
  cpuMs: number;
  /** Event loop active time and total (active + idle) time during the measured calls, ms. */
  loopActiveMs: number;
  loopTotalMs: number;
  /** Calls in flight. */
  concurrency: number;
  /** Unrecorded warm-up calls made before. */
  warmup: number;
}

/** Starts the clocks of a {@link Sample}; the returned function stops them. */
function startClocks(): (latencies: number[], concurrency: number, warmup: number) => Sample {
  const cpu = process.cpuUsage();
  const elu = loop.eventLoopUtilization();
  const started = performance.now();
  return (latenciesMs, concurrency, warmup) => {
    const wallMs = performance.now() - started;
    const d = loop.eventLoopUtilization(elu);
    return { latenciesMs, wallMs, cpuMs: cpuMs(cpu), loopActiveMs: d.active, loopTotalMs: d.active + d.idle, concurrency, warmup };
  };
}

/**
 * Summarizes several samples of the same measurement as one: latencies pooled, wall time, CPU
 * and event-loop time added up (so calls/s is calls over the time spent measuring them).
 * @throws {Error} when there is no recorded call.
 */
export function summarizeSamples(samples: readonly Sample[]): Summary {
  const latencies = samples.flatMap((s) => s.latenciesMs);
  const sum = (f: (s: Sample) => number) => samples.reduce((a, s) => a + f(s), 0);
  const total = sum((s) => s.loopTotalMs);
  return summarize(latencies, sum((s) => s.wallMs), samples[0]?.concurrency ?? 1, sum((s) => s.warmup), sum((s) => s.cpuMs), total > 0 ? sum((s) => s.loopActiveMs) / total : Number.NaN);
}

/**
 * {@link runSequential}'s raw measurements: `warmup` unrecorded calls, then `n` timed ones.
 * @param fn - receives the call index (warm-up calls get negative indexes).
 */
export async function sampleSequential(n: number, warmup: number, fn: (i: number) => Promise<unknown>): Promise<Sample> {
  for (let i = 0; i < warmup; i++) await fn(-1 - i);
  const latencies: number[] = [];
  const stop = startClocks();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    latencies.push(performance.now() - t0);
  }
  return stop(latencies, 1, warmup);
}

/**
 * Runs `fn` `warmup` times unrecorded, then `n` times one after another, timing each call.
 * @param fn - receives the call index (warm-up calls get negative indexes).
 */
export async function runSequential(n: number, warmup: number, fn: (i: number) => Promise<unknown>): Promise<Summary> {
  return summarizeSamples([await sampleSequential(n, warmup, fn)]);
}

/**
 * {@link runConcurrent}'s raw measurements (same closed loop, same warm-up and failure rules).
 * @param fn - receives the worker index and the call index (warm-up calls: negative indexes).
 */
export async function sampleConcurrent(
  n: number,
  concurrency: number,
  warmup: number,
  fn: (worker: number, i: number) => Promise<unknown>,
): Promise<Sample> {
  const workers = Array.from({ length: concurrency }, (_, w) => w);
  let failed: unknown;
  await Promise.all(
    workers.map(async (w) => {
      for (let i = 0; i < warmup; i++) await fn(w, -1 - (w * warmup + i));
    }),
  );
  const latencies: number[] = [];
  let next = 0;
  const stop = startClocks();
  await Promise.all(
    workers.map(async (w) => {
      while (failed === undefined) {
        const i = next++;
        if (i >= n) return;
        const t0 = performance.now();
        try {
          await fn(w, i);
        } catch (err) {
          failed ??= err;
          return;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  if (failed !== undefined) throw failed;
  return stop(latencies, concurrency, warmup * concurrency);
}

/**
 * Runs `n` calls with `concurrency` of them in flight (closed loop), after `warmup` calls per
 * worker, unrecorded, also run concurrently. Worker `w` always passes its own index, so a caller
 * can bind a worker to one wallet or one client. The first failure stops every worker and is
 * rethrown.
 * @param fn - receives the worker index and the call index (warm-up calls: negative indexes).
 */
export async function runConcurrent(
  n: number,
  concurrency: number,
  warmup: number,
  fn: (worker: number, i: number) => Promise<unknown>,
): Promise<Summary> {
  return summarizeSamples([await sampleConcurrent(n, concurrency, warmup, fn)]);
}
