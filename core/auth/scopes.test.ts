/**
 * Key scopes, roles and key-field validation without a database: CIDR parsing and matching
 * (IPv4, IPv6, IPv4-mapped IPv6), the rank rules of key management, and the field each invalid
 * key field is reported under.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkIpScope, checkToolScope, checkWalletScope, cidrWithin, ipInCidrs, parseCidr } from './scopes.ts';
import { ROLES, can, canManageKeyOfRole, permissionsOf } from './roles.ts';
import { parseCreateApiKey } from './keys.ts';
import { ForbiddenError, ValidationError } from '../errors.ts';

const scoped = (scopes: Partial<{ tools: string[]; wallets: string[]; ips: string[] }>) => ({
  scopes: { tools: scopes.tools ?? null, wallets: scopes.wallets ?? null, ips: scopes.ips ?? null },
});

describe('CIDRs', () => {
  test('parse: IPv4, IPv6, bare addresses; bad prefixes and text are refused', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseCidr('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 'ipv6' });
    assert.deepEqual(parseCidr('127.0.0.1'), { address: '127.0.0.1', prefix: 32, family: 'ipv4' });
    assert.deepEqual(parseCidr('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0/8', '10.0.0.0/', '10.0.0.0/-1', 'localhost', '', '10.0.0.0/8/8', '256.0.0.0/8']) {
      assert.equal(parseCidr(bad), undefined, bad);
    }
  });

  test('match: IPv4, IPv6 and IPv4-mapped IPv6 both ways', () => {
    assert.equal(ipInCidrs('127.0.0.1', ['127.0.0.0/8']), true);
    assert.equal(ipInCidrs('127.0.0.1', ['10.0.0.0/8']), false);
    assert.equal(ipInCidrs('::ffff:127.0.0.1', ['127.0.0.0/8']), true);
    assert.equal(ipInCidrs('::ffff:10.1.2.3', ['127.0.0.0/8']), false);
    assert.equal(ipInCidrs('10.1.2.3', ['::ffff:10.0.0.0/104']), true);
    assert.equal(ipInCidrs('2001:db8::5', ['2001:db8::/32']), true);
    assert.equal(ipInCidrs('2001:db9::5', ['2001:db8::/32']), false);
    assert.equal(ipInCidrs('::1', ['127.0.0.0/8']), false);
    assert.equal(ipInCidrs('not-an-ip', ['0.0.0.0/0']), false);
  });

  test('within: a block inside another, across notations', () => {
    assert.equal(cidrWithin('10.1.0.0/16', ['10.0.0.0/8']), true);
    assert.equal(cidrWithin('10.0.0.0/8', ['10.1.0.0/16']), false);
    assert.equal(cidrWithin('10.1.2.3', ['10.0.0.0/8']), true);
    assert.equal(cidrWithin('11.0.0.0/16', ['10.0.0.0/8']), false);
    assert.equal(cidrWithin('10.1.0.0/16', ['::ffff:10.0.0.0/104']), true);
    assert.equal(cidrWithin('2001:db8:1::/48', ['2001:db8::/32']), true);
  });
});

describe('scope checks', () => {
  test('unrestricted passes; a list refuses what it does not name, with the rule', () => {
    const open = scoped({});
    checkToolScope(open, 'execute_transfer');
    checkWalletScope(open, 'a');
    checkIpScope(open, null);
    const s = scoped({ tools: ['query_balance'], wallets: ['a'], ips: ['10.0.0.0/8'] });
    checkToolScope(s, 'query_balance');
    checkWalletScope(s, 'a');
    checkIpScope(s, '10.9.9.9');
    const rule = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        assert.ok(err instanceof ForbiddenError);
        assert.equal(err.code, 'FORBIDDEN');
        assert.equal(err.status, 403);
        return err.details?.rule;
      }
      return 'allowed';
    };
    assert.equal(rule(() => checkToolScope(s, 'execute_transfer')), 'scope.tools');
    assert.equal(rule(() => checkWalletScope(s, 'b')), 'scope.wallets');
    assert.equal(rule(() => checkIpScope(s, '127.0.0.1')), 'scope.ips');
    assert.equal(rule(() => checkIpScope(s, null)), 'scope.ips');
  });
});

describe('roles', () => {
  test('the matrix', () => {
    // Only an owner may take key material out (wallets.export); otherwise owner and admin match.
    assert.deepEqual(permissionsOf('owner'), [...permissionsOf('admin'), 'wallets.export']);
    assert.equal(can('admin', 'wallets.export'), false);
    assert.deepEqual(permissionsOf('operator'), ['mcp.read', 'mcp.write', 'api.read', 'api.write', 'approvals.decide', 'audit.export']);
    assert.deepEqual(permissionsOf('viewer'), ['mcp.read', 'api.read', 'audit.export']);
    assert.deepEqual(permissionsOf('agent'), ['mcp.read', 'mcp.write']);
    assert.equal(can('operator', 'policies.write'), false);
  });

  test('key management ranks: owner any, admin never owner, others none', () => {
    const allowed = Object.fromEntries(ROLES.map((actor) => [actor, ROLES.filter((target) => canManageKeyOfRole(actor, target))]));
    assert.deepEqual(allowed, {
      owner: ['owner', 'admin', 'operator', 'viewer', 'agent'],
      admin: ['admin', 'operator', 'viewer', 'agent'],
      operator: [],
      viewer: [],
      agent: [],
    });
  });
});

describe('key fields', () => {
  const ok = { name: 'ci', role: 'agent' };
  const field = (input: Record<string, unknown>) => {
    try {
      parseCreateApiKey({ ...ok, ...input });
    } catch (err) {
      assert.ok(err instanceof ValidationError, String(err));
      assert.equal(err.code, 'INVALID_INPUT');
      return `${err.field}: ${err.message.slice(err.field.length + 2)}`;
    }
    return 'ok';
  };

  test('valid input parses, lists are de-duplicated, expiry becomes a Date', () => {
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const p = parseCreateApiKey({ name: ' ci bot ', role: 'operator', expiresAt: at, allowedTools: ['query_balance', 'query_balance'], allowedWallets: ['a-1'], allowedIps: ['10.0.0.0/8', '::1'] });
    assert.equal(p.name, 'ci bot');
    assert.deepEqual(p.allowed_tools, ['query_balance']);
    assert.ok(p.expires_at instanceof Date);
    assert.equal(field({ allowedTools: null, expiresAt: null }), 'ok');
  });

  test('each bad field is named', () => {
    assert.match(field({ name: undefined }), /^name: is required/);
    assert.match(field({ name: '' }), /^name: must not be empty/);
    assert.match(field({ name: 'x'.repeat(101) }), /^name: must be at most 100/);
    assert.match(field({ role: 'root' }), /^role: must be one of owner, admin, operator, viewer, agent/);
    assert.match(field({ role: undefined }), /^role: is required/);
    assert.match(field({ expiresAt: '2000-01-01T00:00:00Z' }), /^expires_at: must be in the future/);
    assert.match(field({ expiresAt: 'tomorrow' }), /^expires_at: must be an ISO 8601 time/);
    assert.match(field({ allowedTools: ['ExecuteTransfer'] }), /^allowed_tools\[0\]: must be a snake_case/);
    assert.match(field({ allowedTools: [] }), /^allowed_tools: must name at least one/);
    assert.match(field({ allowedTools: 'execute_transfer' }), /^allowed_tools: must be a list/);
    assert.match(field({ allowedWallets: ['ok', ' bad'] }), /^allowed_wallets\[1\]: must be an agent id/);
    assert.match(field({ allowedIps: ['10.0.0.0/8', '10.0.0.0/33'] }), /^allowed_ips\[1\]: must be an IPv4 or IPv6/);
    assert.match(field({ allowedIps: ['fe80::1/129'] }), /^allowed_ips\[0\]: must be an IPv4 or IPv6/);
  });
});
