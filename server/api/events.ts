/**
 * `GET /api/events`: the tenant's audit log, newest first, filterable, cursor-paginated.
 * `GET /api/events/export`: the same rows, oldest first, streamed as JSON Lines or CSV with a
 * download filename (core/audit/export.ts). Owners and admins also see the rows that belong to
 * no tenant (refused sign-ins), in both.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { CoreContext } from '../../core/context.ts';
import { DEFAULT_TENANT } from '../../core/auth/api-keys.ts';
import { listAuditEvents, recordAudit } from '../../core/audit/log.ts';
import { EXPORT_FORMATS, exportAuditEvents, type ExportFilter } from '../../core/audit/export.ts';
import type { AppEnv } from '../env.ts';
import { clientIp } from '../auth.ts';
import { limitParam, parseQuery, uuidParam } from './errors.ts';

const ISO_TIME_RE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

/** An ISO 8601 time query parameter (a date alone is midnight UTC). */
const timeParam = z
  .string()
  .regex(ISO_TIME_RE, 'must be an ISO 8601 time such as 2025-01-31 or 2025-01-31T12:00:00Z')
  .transform((v) => new Date(v))
  .refine((d) => !Number.isNaN(d.getTime()), 'must be a valid ISO 8601 time');

/** Filters shared by the list and the export. */
const filters = {
  wallet_id: uuidParam.optional(),
  agent_id: z.string().max(128).optional(),
  action: z.string().max(200).optional(),
  status: z.enum(['ok', 'error', 'refused'], { message: 'must be ok, error or refused' }).optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
};

const CONTENT_TYPES = { jsonl: 'application/x-ndjson; charset=utf-8', csv: 'text/csv; charset=utf-8; header=present' } as const;

/**
 * Unscoped rows (refused credentials that match no key, so belong to no tenant) are the host
 * operator's: only owners and admins of the default tenant see them, never another tenant.
 */
async function seesUnscoped(core: CoreContext, c: Context<AppEnv>): Promise<boolean> {
  const p = c.get('principal');
  if (!['owner', 'admin'].includes(p.role)) return false;
  const tenant = await core.db.selectFrom('tenants').select('name').where('id', '=', p.tenantId).executeTakeFirst();
  return tenant?.name === DEFAULT_TENANT;
}

/** Event routes, mounted under `/api/events`. */
export function eventRoutes(core: CoreContext): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/', async (c) => {
    const q = parseQuery(
      c,
      z.object({
        limit: limitParam,
        cursor: z.string().regex(/^\d+$/, 'must be a cursor returned by this API').optional(),
        ...filters,
        kind: z.enum(['tool_call', 'api_write', 'auth', 'cli', 'worker'], { message: 'must be tool_call, api_write, auth, cli or worker' }).optional(),
      }),
    );
    const { limit, cursor, wallet_id, agent_id, action, status, kind, since, until } = q;
    return c.json(
      await listAuditEvents(core.db, c.get('principal').tenantId, {
        limit,
        includeUnscoped: await seesUnscoped(core, c),
        ...(cursor ? { cursor } : {}),
        ...(wallet_id ? { walletId: wallet_id } : {}),
        ...(agent_id ? { agentId: agent_id } : {}),
        ...(action ? { action } : {}),
        ...(status ? { status } : {}),
        ...(kind ? { kind } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
      }),
    );
  });

  routes.get('/export', async (c) => {
    const q = parseQuery(
      c,
      z.object({ format: z.enum(EXPORT_FORMATS, { message: 'must be jsonl or csv' }).default('jsonl'), ...filters }),
    );
    const principal = c.get('principal');
    const filter: ExportFilter = {
      tenantId: principal.tenantId,
      includeUnscoped: await seesUnscoped(core, c),
      ...(q.wallet_id ? { walletId: q.wallet_id } : {}),
      ...(q.agent_id ? { agentId: q.agent_id } : {}),
      ...(q.action ? { action: q.action } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.since ? { since: q.since } : {}),
      ...(q.until ? { until: q.until } : {}),
    };
    // Who took a copy of the log, and of what, is itself worth a row.
    await recordAudit(core.db, {
      tenantId: principal.tenantId,
      kind: 'api_write',
      action: 'GET /api/events/export',
      principal: principal.keyPrefix,
      agentId: q.agent_id ?? null,
      walletId: q.wallet_id ?? null,
      status: 'ok',
      request: {
        format: q.format,
        wallet_id: q.wallet_id ?? null,
        agent_id: q.agent_id ?? null,
        action: q.action ?? null,
        status: q.status ?? null,
        since: q.since?.toISOString() ?? null,
        until: q.until?.toISOString() ?? null,
      },
      requestId: c.get('requestId'),
      ip: clientIp(c),
    });

    const chunks = exportAuditEvents(core.db, filter, q.format);
    // The first page is read before the response starts, so a failure there is a JSON error.
    const first = await chunks.next();
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        if (first.done) controller.close();
        else controller.enqueue(encoder.encode(first.value));
      },
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(next.value));
        } catch (err) {
          core.logger.error({ err, requestId: c.get('requestId') }, 'audit export failed mid-stream');
          controller.error(err);
        }
      },
      async cancel() {
        await chunks.return(undefined);
      },
    });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    return new Response(body, {
      status: 200,
      headers: {
        'Content-Type': CONTENT_TYPES[q.format],
        'Content-Disposition': `attachment; filename="vaultpilot-audit-${stamp}.${q.format}"`,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      },
    });
  });
  return routes;
}
