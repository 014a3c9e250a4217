/**
 * Audited REST writes: every write route runs its handler through {@link audited}, which records
 * one `api_write` audit row, `ok` with the response or `refused`/`error` with the code, refusals
 * included. Secrets are redacted by field name (core/audit/log.ts).
 */
import type { Context } from 'hono';
import type { CoreContext } from '../../core/context.ts';
import { recordAudit } from '../../core/audit/log.ts';
import { toVaultPilotError } from '../../core/errors.ts';
import { refusalDecision } from '../../core/policy/decision.ts';
import type { AppEnv } from '../env.ts';
import { clientIp } from '../auth.ts';

/** What the audit row of a REST write records, filled in as the handler learns it. */
export interface WriteRecord {
  /** The parsed body (redacted when stored); `null` until it parsed, so a raw body is never stored. */
  request: unknown;
  agentId: string | null;
  walletId: string | null;
}

/**
 * Runs a REST write and records its `api_write` audit row, `ok` with the response or
 * `refused`/`error` with the code; secrets are redacted by field name (core/audit/log.ts).
 */
export async function audited<R>(core: CoreContext, c: Context<AppEnv>, action: string, fn: (record: WriteRecord) => Promise<R>): Promise<R> {
  const principal = c.get('principal');
  const started = performance.now();
  const record: WriteRecord = { request: null, agentId: null, walletId: null };
  const base = () => ({
    tenantId: principal.tenantId,
    kind: 'api_write' as const,
    action,
    principal: principal.keyPrefix,
    agentId: record.agentId,
    walletId: record.walletId,
    request: record.request,
    requestId: c.get('requestId'),
    ip: clientIp(c),
  });
  try {
    const out = await fn(record);
    await recordAudit(core.db, { ...base(), status: 'ok', durationMs: performance.now() - started, response: out });
    return out;
  } catch (err) {
    const e = toVaultPilotError(err);
    await recordAudit(core.db, {
      ...base(),
      status: e.status < 500 ? 'refused' : 'error',
      errorCode: e.code,
      ...refusalDecision(e),
      durationMs: performance.now() - started,
      response: { error: { code: e.code, message: e.message, details: e.details ?? null } },
    }).catch((auditErr: unknown) => core.logger.error({ err: auditErr, requestId: c.get('requestId') }, 'audit write failed'));
    throw err;
  }
}
