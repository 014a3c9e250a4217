/**
 * Strategy routes, mounted under `/api/strategies` (the admin UI's contract):
 * `GET /` (list, filterable, cursor-paginated), `GET /:id` (the strategy and its last 10 runs),
 * `GET /:id/runs` (run history), `POST /` (create), `PATCH /:id` (replace params),
 * `POST /:id/start`, `POST /:id/stop`, `POST /:id/tick` (a manual tick, `dry_run` optional) and
 * `DELETE /:id` (stop, then delete; runs stay in history). Every write is audited (`api_write`),
 * refusals included, with `confirmation_code` redacted.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { CoreContext } from '../../core/context.ts';
import {
  createStrategy, deleteStrategy, getStrategy, listRuns, listStrategies, startStrategy, stopStrategy, strategyStatus, tickStrategy, updateStrategy,
  type StrategyView,
} from '../../core/strategies/service.ts';
import type { AppEnv } from '../env.ts';
import { limitParam, parseBody, parseOptionalBody, parseQuery } from './errors.ts';
import { audited, type WriteRecord } from './audited.ts';

const STATUSES = ['active', 'stopped', 'completed', 'paused'] as const;

const createBody = z.strictObject({
  kind: z.string('must be a string: dca, scheduled_send, send_when_gas_below or micro_tip'),
  label: z.string('must be a string'),
  agent_id: z.string('must be a string'),
  params: z.record(z.string(), z.unknown(), 'must be an object with the kind\'s parameters'),
  start: z.boolean('must be true or false').optional(),
  confirmation_code: z.string('must be a string').optional(),
});

const updateBody = z.strictObject({
  params: z.record(z.string(), z.unknown(), 'must be an object with the kind\'s parameters'),
  confirmation_code: z.string('must be a string').optional(),
});

const tickBody = z.strictObject({ dry_run: z.boolean('must be true or false').optional() });

/** An empty filter (`?agent_id=&status=`) means no filter. */
const blankAsUnset = (v: unknown): unknown => (v === '' ? undefined : v);

/** Notes the strategy a write touched on its audit row. */
function noteStrategy(record: WriteRecord, s: StrategyView): void {
  record.agentId = s.agent_id;
  record.walletId = s.wallet_id;
}

/** Strategy routes, mounted under `/api/strategies`. */
export function strategyRoutes(core: CoreContext): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get('/', async (c) => {
    const q = parseQuery(
      c,
      z.object({
        limit: z.preprocess(blankAsUnset, limitParam),
        cursor: z.preprocess(blankAsUnset, z.string().optional()),
        agent_id: z.preprocess(blankAsUnset, z.string().optional()),
        status: z.preprocess(blankAsUnset, z.enum(STATUSES, { message: `must be one of ${STATUSES.join(', ')}` }).optional()),
      }),
    );
    return c.json(
      await listStrategies(core, c.get('principal'), {
        limit: q.limit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
        ...(q.agent_id !== undefined ? { agent_id: q.agent_id } : {}),
        ...(q.status ? { status: q.status } : {}),
      }),
    );
  });

  routes.post('/', async (c) => {
    const out = await audited(core, c, 'POST /api/strategies', async (record, ctx) => {
      const body = await parseBody(c, createBody);
      record.request = body;
      record.agentId = body.agent_id;
      const strategy = await createStrategy(ctx, c.get('principal'), { ...body, start: body.start !== false });
      noteStrategy(record, strategy);
      return { strategy };
    });
    return c.json(out, 201);
  });

  routes.get('/:id', async (c) => c.json(await strategyStatus(core, c.get('principal'), { id: c.req.param('id') }, 10)));

  routes.get('/:id/runs', async (c) => {
    const q = parseQuery(c, z.object({ limit: z.preprocess(blankAsUnset, limitParam), cursor: z.preprocess(blankAsUnset, z.string().optional()) }));
    return c.json(await listRuns(core, c.get('principal'), { id: c.req.param('id') }, { limit: q.limit, ...(q.cursor ? { cursor: q.cursor } : {}) }));
  });

  routes.patch('/:id', async (c) => {
    const out = await audited(core, c, 'PATCH /api/strategies/:id', async (record, ctx) => {
      const body = await parseBody(c, updateBody);
      record.request = { id: c.req.param('id'), ...body };
      const strategy = await updateStrategy(ctx, c.get('principal'), { id: c.req.param('id') }, body);
      noteStrategy(record, strategy);
      return { strategy };
    });
    return c.json(out);
  });

  /** A body-less write on one strategy (start, stop, delete). */
  const act = (action: string, fn: (id: string, c: Context<AppEnv>, ctx: CoreContext) => Promise<StrategyView>) => async (c: Context<AppEnv>) => {
    const out = await audited(core, c, action, async (record, ctx) => {
      record.request = { id: c.req.param('id') };
      const strategy = await fn(c.req.param('id')!, c, ctx);
      noteStrategy(record, strategy);
      return { strategy };
    });
    return c.json(out);
  };
  routes.post('/:id/start', act('POST /api/strategies/:id/start', (id, c, ctx) => startStrategy(ctx, c.get('principal'), { id })));
  routes.post('/:id/stop', act('POST /api/strategies/:id/stop', (id, c, ctx) => stopStrategy(ctx, c.get('principal'), { id })));
  routes.delete('/:id', act('DELETE /api/strategies/:id', (id, c, ctx) => deleteStrategy(ctx, c.get('principal'), { id })));

  routes.post('/:id/tick', async (c) => {
    const out = await audited(core, c, 'POST /api/strategies/:id/tick', async (record, ctx) => {
      const body = await parseOptionalBody(c, tickBody);
      record.request = { id: c.req.param('id'), ...body };
      const principal = c.get('principal');
      noteStrategy(record, await getStrategy(core, principal, { id: c.req.param('id') }));
      return tickStrategy(ctx, principal, { id: c.req.param('id') }, { dryRun: body.dry_run === true });
    });
    return c.json(out);
  });

  return routes;
}
