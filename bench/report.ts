/**
 * Printing the results: one table of measurements with each VaultPilot row followed by its
 * floors and the ratios VaultPilot ÷ floor, the server's own per-phase metrics, and the
 * per-step breakdown. Tables are Markdown, so they paste into docs as they are.
 */
import type { Summary } from './stats.ts';
import type { PhaseMetrics } from './server-metrics.ts';
import type { BreakdownRow } from './breakdown.ts';

/** One measured line. `floor` rows carry the ratios of their group's VaultPilot row to them. */
export interface ResultRow {
  group: string;
  kind: 'vaultpilot' | 'floor';
  label: string;
  summary: Summary;
  /** JSON-RPC requests per call by method, counted on the wire (warm-up included in the average). */
  rpcPerCall?: Record<string, number>;
  /** SQL statements the VaultPilot server ran per call and the time they took (warm-up included in the average). */
  sqlPerCall?: { statements: number; ms: number };
  /** VaultPilot ÷ this row: p50 latency (higher = VaultPilot slower) and calls/s (lower = VaultPilot slower). */
  ratio?: { p50: number; callsPerSec: number };
}

/**
 * Fills in `ratio` on every floor row from the VaultPilot row of the same group.
 * @returns the same rows.
 */
export function withRatios(rows: ResultRow[]): ResultRow[] {
  for (const row of rows) {
    if (row.kind !== 'floor') continue;
    const vp = rows.find((r) => r.group === row.group && r.kind === 'vaultpilot');
    if (vp) row.ratio = { p50: vp.summary.p50Ms / row.summary.p50Ms, callsPerSec: vp.summary.callsPerSec / row.summary.callsPerSec };
  }
  return rows;
}

/** Milliseconds with 2, 1 or 0 decimals by size. */
export function ms(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** A rate per second with 1 or 0 decimals by size. */
export function rate(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

/** A ratio as `1.23×` (or `12×`). */
export function ratio(v: number): string {
  return `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}×`;
}

/** Renders rows of cells as a Markdown table with padded columns; `right` marks numeric columns. */
export function markdownTable(header: string[], rows: string[][], right: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function rpcTotal(perCall: Record<string, number> | undefined): string {
  if (!perCall) return '';
  const total = Object.values(perCall).reduce((a, b) => a + b, 0);
  return Number.isInteger(total) ? String(total) : total.toFixed(2);
}

/** The main table: measurement, n, in flight, p50, p99, calls/s, RPC requests per call, and VaultPilot ÷ floor. */
export function resultsTable(rows: ResultRow[]): string {
  return markdownTable(
    ['measurement', 'n', 'in flight', 'p50 ms', 'p99 ms', 'calls/s', 'VP÷floor p50', 'VP÷floor calls/s', 'RPC/call', 'SQL/call', 'CPU ms/call', 'loop busy'],
    rows.map((r) => [
      r.kind === 'floor' ? `  floor: ${r.label}` : r.label,
      String(r.summary.n),
      String(r.summary.concurrency),
      ms(r.summary.p50Ms),
      ms(r.summary.p99Ms),
      rate(r.summary.callsPerSec),
      r.ratio ? ratio(r.ratio.p50) : '',
      r.ratio ? ratio(r.ratio.callsPerSec) : '',
      rpcTotal(r.rpcPerCall),
      r.sqlPerCall ? r.sqlPerCall.statements.toFixed(1) : '0',
      ms(r.summary.cpuMsPerCall),
      `${Math.round(r.summary.eventLoopBusy * 100)}%`,
    ]),
    [false, true, true, true, true, true, true, true, true, true, true, true],
  );
}

/** Per-phase server view: handler mean, JSON-RPC requests per call on the wire, and the RPC latency metric by label. */
export function serverMetricsTable(phases: Array<{ label: string; meanMs: number; metrics: PhaseMetrics; rpcPerCall: Record<string, number>; sqlPerCall: { statements: number; ms: number } }>): string {
  const count = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
  return markdownTable(
    ['phase', 'client mean ms', 'tool handler mean ms', 'server SQL per call: statements (ms)', 'JSON-RPC requests per call (on the wire)', 'RPC metric by label: mean ms'],
    phases.map((p) => [
      p.label,
      ms(p.meanMs),
      p.metrics.handlerMeanMs === null ? 'n/a' : ms(p.metrics.handlerMeanMs),
      `${p.sqlPerCall.statements.toFixed(1)} (${ms(p.sqlPerCall.ms)})`,
      Object.entries(p.rpcPerCall)
        .map(([m, v]) => `${m} ${count(v)}`)
        .join(', '),
      Object.entries(p.metrics.rpc)
        .map(([m, v]) => `${m} ${ms(v.meanMs)}`)
        .join(', '),
    ]),
    [false, true, true, true, false, false],
  );
}

/** The per-step breakdown. */
export function breakdownTable(rows: BreakdownRow[]): string {
  return markdownTable(
    ['step (alone, sequential)', 'p50 ms', 'mean ms', 'p99 ms'],
    rows.map((r) => [r.step, ms(r.summary.p50Ms), ms(r.summary.meanMs), ms(r.summary.p99Ms)]),
    [false, true, true, true],
  );
}

/** Rounds every number in a JSON-able value to 3 decimals (for the `--json` file). */
export function rounded(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? value : Math.round(value * 1000) / 1000;
  if (Array.isArray(value)) return value.map(rounded);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]));
  return value;
}
