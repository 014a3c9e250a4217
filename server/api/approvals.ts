/**
 * Approval routes, mounted under `/api/approvals`: `GET /` (list, `?status=`, cursor-paginated),
 * `GET /:id`, `POST /:id/approve` and `POST /:id/reject` (body `{ "note"? }`, optional). The
 * decisions are audited (`api_write`), refusals included; only owner, admin and operator keys
 * other than the requesting one may decide (core/approvals/decide.ts checks both).
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { CoreContext } from '../../core/context.ts';
import { APPROVAL_STATUSES, MAX_NOTE_LENGTH, assertCanDecide, decideApproval, getApproval, listApprovals, type ApprovalDecision } from '../../core/approvals/service.ts';
import type { AppEnv } from '../env.ts';
import { limitParam, parseOptionalBody, parseQuery, uuidParam } from './errors.ts';
import { audited } from './audited.ts';

const decisionBody = z.strictObject({
  note: z.string('must be a string').max(MAX_NOTE_LENGTH, `must be at most ${MAX_NOTE_LENGTH} characters`).optional(),
});

/** An empty filter (`?status=`) means no filter. */
const blankAsUnset = (v: unknown): unknown => (v === '' ? undefined : v);

/** Approval routes, mounted under `/api/approvals`. */
export function approvalRoutes(core: CoreContext): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get('/', async (c) => {
    const q = parseQuery(
      c,
      z.object({
        limit: z.preprocess(blankAsUnset, limitParam),
        cursor: z.preprocess(blankAsUnset, z.string().optional()),
        wallet_id: z.preprocess(blankAsUnset, uuidParam.optional()),
        status: z.preprocess(blankAsUnset, z.enum(APPROVAL_STATUSES, { message: `must be one of ${APPROVAL_STATUSES.join(', ')}` }).optional()),
      }),
    );
    return c.json(
      await listApprovals(core, c.get('principal'), {
        limit: q.limit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
        ...(q.wallet_id ? { walletId: q.wallet_id } : {}),
        ...(q.status ? { status: q.status } : {}),
      }),
    );
  });

  routes.get('/:id', async (c) => c.json({ approval: await getApproval(core, c.get('principal'), c.req.param('id')) }));

  const decide = (decision: ApprovalDecision) => async (c: Context<AppEnv>) => {
    const out = await audited(core, c, `POST /api/approvals/:id/${decision}`, async (record, ctx) => {
      const body = await parseOptionalBody(c, decisionBody);
      record.request = { id: c.req.param('id'), ...body };
      // The role first (a viewer learns nothing about ids); then read, so a refused decision's
      // audit row names the wallet too.
      assertCanDecide(c.get('principal'));
      const current = await getApproval(core, c.get('principal'), c.req.param('id'));
      record.agentId = current.agent_id;
      record.walletId = current.wallet_id;
      return { approval: await decideApproval(ctx, c.get('principal'), current.approval_id, decision, body.note) };
    });
    return c.json(out);
  };
  routes.post('/:id/approve', decide('approve'));
  routes.post('/:id/reject', decide('reject'));

  return routes;
}
