/**
 * Where the time goes, from VaultPilot's own Prometheus metrics (the server and worker run in
 * this process, so they share `core/metrics.ts`'s registry): per phase, the mean tool-handler
 * time (`vaultpilot_tool_duration_seconds`) and the JSON-RPC calls made per tool call with their
 * mean latency (`vaultpilot_rpc_duration_seconds`), from a snapshot before and after the phase.
 */
import { registry } from '../core/metrics.ts';

/** Sums and counts of the two histograms, keyed `tool:<name>` and `rpc:<method>`. */
export type MetricsSnapshot = Map<string, { sum: number; count: number }>;

/** Server-side view of one phase. */
export interface PhaseMetrics {
  /** Mean time inside the tool handler (validation to result; excludes HTTP, auth, MCP framing and the audit write), ms. */
  handlerMeanMs: number | null;
  toolCalls: number;
  /** JSON-RPC methods seen during the phase: calls per tool call and mean latency (ms). */
  rpc: Record<string, { perCall: number; meanMs: number }>;
}

/** Reads the current sums and counts. */
export async function snapshotMetrics(): Promise<MetricsSnapshot> {
  const out: MetricsSnapshot = new Map();
  for (const metric of await registry.getMetricsAsJSON()) {
    const prefix = metric.name === 'vaultpilot_tool_duration_seconds' ? 'tool' : metric.name === 'vaultpilot_rpc_duration_seconds' ? 'rpc' : null;
    if (!prefix) continue;
    for (const v of metric.values as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>) {
      const kind = v.metricName?.endsWith('_sum') ? 'sum' : v.metricName?.endsWith('_count') ? 'count' : null;
      if (!kind) continue;
      const label = String(prefix === 'tool' ? v.labels.tool : v.labels.method);
      const key = `${prefix}:${label}`;
      const entry = out.get(key) ?? { sum: 0, count: 0 };
      entry[kind] += v.value; // seconds or a count from a histogram, not money
      out.set(key, entry);
    }
  }
  return out;
}

/**
 * What happened between two snapshots for `tool`.
 * @param rpcMethods - which RPC methods to report (the server's; the worker's receipt polling is left out).
 */
export function phaseMetrics(before: MetricsSnapshot, after: MetricsSnapshot, tool: string, rpcMethods: readonly string[]): PhaseMetrics {
  const delta = (key: string) => {
    const a = after.get(key) ?? { sum: 0, count: 0 };
    const b = before.get(key) ?? { sum: 0, count: 0 };
    return { sum: a.sum - b.sum, count: a.count - b.count };
  };
  const t = delta(`tool:${tool}`);
  const rpc: PhaseMetrics['rpc'] = {};
  for (const method of rpcMethods) {
    const d = delta(`rpc:${method}`);
    if (d.count > 0 && t.count > 0) rpc[method] = { perCall: d.count / t.count, meanMs: (d.sum / d.count) * 1000 };
  }
  return { handlerMeanMs: t.count > 0 ? (t.sum / t.count) * 1000 : null, toolCalls: t.count, rpc };
}
