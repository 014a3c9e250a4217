/**
 * The one prom-client registry and every VaultPilot metric, defined once. The server and the
 * worker each expose it on their own `/metrics`; Prometheus tells them apart by job.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import client from 'prom-client';

/** Shared registry (default process metrics are added by {@link enableProcessMetrics}). */
export const registry = new client.Registry();

/** MCP tool calls by tool and outcome (`ok` | `error` | `refused`). */
export const toolCalls = new client.Counter({
  name: 'vaultpilot_tool_calls_total',
  help: 'MCP tool calls by tool and outcome',
  labelNames: ['tool', 'outcome'] as const,
  registers: [registry],
});

/** MCP tool latency in seconds, from input validation to the result. */
export const toolDuration = new client.Histogram({
  name: 'vaultpilot_tool_duration_seconds',
  help: 'MCP tool call latency in seconds',
  labelNames: ['tool'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

/** Transactions entering a status (`queued`, `broadcast`, `mined`, `confirmed`, `reverted`, `failed`). */
export const transactionsByStatus = new client.Counter({
  name: 'vaultpilot_transactions_total',
  help: 'Transactions entering each status',
  labelNames: ['status'] as const,
  registers: [registry],
});

/** JSON-RPC latency in seconds by method and endpoint index (URLs may hold API keys, so not the URL). */
export const rpcDuration = new client.Histogram({
  name: 'vaultpilot_rpc_duration_seconds',
  help: 'EVM JSON-RPC call latency in seconds',
  labelNames: ['method', 'endpoint', 'outcome'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

/** pg-boss jobs handled by the worker, by queue and outcome. */
export const jobsHandled = new client.Counter({
  name: 'vaultpilot_jobs_total',
  help: 'Worker jobs handled by queue and outcome',
  labelNames: ['queue', 'outcome'] as const,
  registers: [registry],
});

let processMetrics = false;
/** Adds prom-client's default process metrics (CPU, memory, event loop) once per process. */
export function enableProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  client.collectDefaultMetrics({ register: registry });
}

/** Strategy ticks by kind and result (`sent`, `skipped`, `failed`, `ended`). */
export const strategyTicks = new client.Counter({
  name: 'vaultpilot_strategy_ticks_total',
  help: 'Strategy ticks by kind and result',
  labelNames: ['kind', 'result'] as const,
  registers: [registry],
});

/** How late a scheduled tick started, in seconds: slot due time → tick start. */
export const strategyTickLag = new client.Histogram({
  name: 'vaultpilot_strategy_tick_lag_seconds',
  help: 'Seconds from a strategy slot being due to its tick starting',
  labelNames: ['kind'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
  registers: [registry],
});

/** Strategies currently active (set by the worker's scheduler from the database). */
export const strategiesActive = new client.Gauge({
  name: 'vaultpilot_strategies_active',
  help: 'Active strategies',
  registers: [registry],
});

/** Aggregated refused-authentication audit rows not written: the write failed, or earlier rows were still waiting (core/audit/refusals.ts). */
export const authAuditDropped = new client.Counter({
  name: 'vaultpilot_auth_audit_dropped_total',
  help: 'Aggregated refused-authentication audit rows that could not be written',
  registers: [registry],
});

/**
 * Why a request without a valid key was refused: no credential, a key that matches none, a
 * revoked or an expired key, a session cookie that is unknown or expired, a failed sign-in
 * (`POST /api/session`).
 */
export const AUTH_REFUSAL_REASONS = ['no_key', 'unknown_key', 'revoked_key', 'expired_key', 'bad_session', 'sign_in_failed'] as const;

/** Requests refused for want of a valid key, by reason (every refusal, however its audit row is aggregated). */
export const authRefusals = new client.Counter({
  name: 'vaultpilot_auth_refusals_total',
  help: 'Requests refused without a valid API key or session, by reason',
  labelNames: ['reason'] as const,
  registers: [registry],
});
// Every series exists from the start, so rate() and increase() see the first refusal.
for (const reason of AUTH_REFUSAL_REASONS) authRefusals.inc({ reason }, 0);

/**
 * Guardrail decisions of MCP tool calls and worker sends: `allow`, `deny` or `require_approval`,
 * by the rule that decided (`none` for an allow; rule names are the policy fields,
 * `rate_limits.*`, `role`, `scope.*`).
 */
export const guardrailDecisions = new client.Counter({
  name: 'vaultpilot_guardrail_decisions_total',
  help: 'Guardrail decisions by decision and rule',
  labelNames: ['decision', 'rule'] as const,
  registers: [registry],
});

/** Approvals waiting for a human (worker; every worker counts them all from the database). */
export const approvalsPending = new client.Gauge({
  name: 'vaultpilot_approvals_pending',
  help: 'Approvals waiting for a decision',
  registers: [registry],
});

/**
 * Whether a request may read `/metrics` (server and worker): always when no `METRICS_TOKEN` is
 * set, else only with `Authorization: Bearer <token>`. Compared in constant time (SHA-256 of
 * both, so neither the length nor a prefix leaks through timing).
 * @param authorization the request's `Authorization` header, if any.
 * @param token `config.metricsToken`.
 */
export function metricsAuthorized(authorization: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}

/** The JSON error body of a refused `/metrics` request (no audit row: the token is not a key). */
export const METRICS_UNAUTHORIZED_BODY = JSON.stringify({
  error: { code: 'UNAUTHENTICATED', message: 'GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>"', details: null },
});
