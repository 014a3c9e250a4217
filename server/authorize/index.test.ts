/**
 * The REST authorization middleware on its own: which action each request needs, and that
 * requireRole answers 403 FORBIDDEN (rule role) and writes one audit row, or lets the request
 * through. The whole matrix over a real server is test/roles.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import type { CoreContext } from '../../core/context.ts';
import type { Principal } from '../../core/auth/api-keys.ts';
import type { Role } from '../../core/db/types.ts';
import { ROLES } from '../../core/auth/roles.ts';
import type { AppEnv } from '../env.ts';
import { errorResponse } from '../api/errors.ts';
import { authorizeApi, requireRole, restAction } from './index.ts';

describe('restAction', () => {
  const cases: Array<[string, string, string]> = [
    ['GET', '/api/wallets', 'api.read'],
    ['GET', '/api/wallets/abc', 'api.read'],
    ['POST', '/api/wallets/import', 'api.write'],
    ['POST', '/api/strategies/x/start', 'api.write'],
    ['PATCH', '/api/strategies/x', 'api.write'],
    ['DELETE', '/api/strategies/x', 'api.write'],
    ['GET', '/api/transactions', 'api.read'],
    ['GET', '/api/events', 'audit.export'],
    ['GET', '/api/events/export', 'audit.export'],
    ['GET', '/api/keys', 'keys.manage'],
    ['POST', '/api/keys', 'keys.manage'],
    ['POST', '/api/keys/x/revoke', 'keys.manage'],
    ['GET', '/api/tenants', 'tenants.manage'],
    ['POST', '/api/tenants/', 'tenants.manage'],
    ['GET', '/api/tenantsx', 'api.read'],
    ['GET', '/api/keysmith', 'api.read'],
    ['POST', '/api/approvals/x/approve', 'approvals.decide'],
    ['GET', '/api/approvals', 'api.read'],
    ['PUT', '/api/wallets/x/policy', 'policies.write'],
    ['GET', '/api/wallets/x/policy', 'api.read'],
    ['POST', '/api/policies', 'policies.write'],
  ];
  for (const [method, path, action] of cases) {
    test(`${method} ${path} needs ${action}`, () => assert.equal(restAction(method, path), action));
  }
});

describe('requireRole', () => {
  function app(role: Role, guard: 'default' | 'keys') {
    let audits = 0;
    const core = {
      db: { insertInto: () => ({ values: () => ({ execute: async () => void (audits += 1) }) }) },
      logger: { error: () => undefined },
    } as unknown as CoreContext;
    const principal: Principal = { tenantId: 't', keyId: 'k', keyPrefix: 'vp_00000000', name: 'n', role, scopes: { tools: null, wallets: null, ips: null } };
    const a = new Hono<AppEnv>();
    a.use('*', async (c, next) => {
      c.set('principal', principal);
      c.set('requestId', 'r');
      await next();
    });
    a.use('*', guard === 'default' ? authorizeApi(core) : requireRole(core, 'keys.manage'));
    a.get('/api/wallets', (c) => c.json({ ok: true }));
    a.post('/api/wallets/import', (c) => c.json({ ok: true }));
    a.onError((err, c) => errorResponse(c, err, core.logger as never));
    return { app: a, audits: () => audits };
  }

  test('the default guard follows the matrix for reads and writes', async () => {
    const expected: Record<Role, [number, number]> = { owner: [200, 200], admin: [200, 200], operator: [200, 200], viewer: [200, 403], agent: [403, 403] };
    for (const role of ROLES) {
      const { app: a, audits } = app(role, 'default');
      const read = await a.request('/api/wallets');
      const write = await a.request('/api/wallets/import', { method: 'POST' });
      assert.deepEqual([read.status, write.status], expected[role], role);
      const refusals = expected[role].filter((s) => s === 403).length;
      assert.equal(audits(), refusals, `${role}: one audit row per refusal`);
      if (write.status === 403) {
        const body = (await write.json()) as { error: { code: string; details: { rule: string; role: string; action: string } } };
        assert.equal(body.error.code, 'FORBIDDEN');
        assert.deepEqual(body.error.details, { rule: 'role', role, action: 'api.write' });
      }
    }
  });

  test('requireRole(keys.manage) lets only owner and admin through', async () => {
    for (const role of ROLES) {
      const res = await app(role, 'keys').app.request('/api/wallets');
      assert.equal(res.status, role === 'owner' || role === 'admin' ? 200 : 403, role);
    }
  });
});
