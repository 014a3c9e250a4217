/**
 * Audited REST writes: every write route runs its handler through {@link audited}, which gives it
 * a copy of the core context carrying the call's audit scope (core/audit/scope.ts). A handler
 * whose core call writes commits its `api_write` row inside that write's transaction; otherwise
 * the row is written before the response leaves, `ok` with the response or `refused`/`error` with
 * the code, refusals included. Secrets are redacted by field name (core/audit/log.ts).
 */
import type { Context } from 'hono';
import type { CoreContext } from '../../core/context.ts';
import { AuditScope } from '../../core/audit/scope.ts';
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
 * Runs a REST write with its audit row (see the module comment). `fn` gets the record to fill in
 * and the context to pass to core.
 * @throws whatever `fn` throws, after recording it; an audit write that fails fails the request.
 */
export async function audited<R>(core: CoreContext, c: Context<AppEnv>, action: string, fn: (record: WriteRecord, ctx: CoreContext) => Promise<R>): Promise<R> {
  const principal = c.get('principal');
  const scope = new AuditScope(core.db, {
    tenantId: principal.tenantId,
    kind: 'api_write',
    action,
    principal: principal.keyPrefix,
    request: null,
    requestId: c.get('requestId'),
    ip: clientIp(c),
  });
  let request: unknown = null;
  let agentId: string | null = null;
  let walletId: string | null = null;
  // Each field goes to the scope as soon as it is set, so a row committed by core carries it.
  const record: WriteRecord = {
    get request() {
      return request;
    },
    set request(value: unknown) {
      request = value;
      scope.request = value;
    },
    get agentId() {
      return agentId;
    },
    set agentId(value: string | null) {
      agentId = value;
      scope.setWallet(value);
    },
    get walletId() {
      return walletId;
    },
    set walletId(value: string | null) {
      walletId = value;
      scope.setWallet(undefined, value);
    },
  };
  try {
    const out = await fn(record, { ...core, audit: scope });
    await scope.finish({ response: out, agentId, walletId });
    return out;
  } catch (err) {
    const e = toVaultPilotError(err);
    await scope.fail(e, refusalDecision(e), (auditErr) => core.logger.error({ err: auditErr, requestId: c.get('requestId') }, 'audit write failed'));
    throw err;
  }
}
