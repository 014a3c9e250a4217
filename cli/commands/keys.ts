/**
 * `vaultpilot keys create|list|revoke --tenant NAME …`: API keys from the machine that runs
 * VaultPilot (core/auth/keys.ts). The CLI acts for the operator and may create or revoke a key
 * of any role, the first owner key of a new tenant included. `create` prints the key once; only
 * its hash is stored. Every create and revoke is audited (kind `cli`, principal `cli`), never
 * with the key. (`keys rewrap`, about wallet keys, is cli/commands/keys-rewrap.ts.)
 */
import { AuditScope, auditedTransaction } from '../../core/audit/scope.ts';
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyView } from '../../core/auth/keys.ts';
import { ROLES } from '../../core/auth/roles.ts';
import type { Db } from '../../core/db/connect.ts';
import { ValidationError, VaultPilotError } from '../../core/errors.ts';
import { resolveTenant } from '../../core/tenants.ts';
import { parseCommandLine, UsageError, type CliCommand } from '../command.ts';
import { openCliContext } from '../context.ts';
import { table } from './tenants.ts';

const CREATE_USAGE = `usage: vaultpilot keys create --tenant NAME --name NAME --role ROLE [options]

Creates an API key in the tenant and prints it ONCE: store it now (a secret manager, the agent's
MCP config); VaultPilot keeps only its SHA-256 hash. The key starts with its visible id
(vp_1a2b3c4d), which lists, logs and revoke use.

options:
  --tenant <name>      the tenant, required
  --name <text>        what the key is for (1-100 characters), required
  --role <role>        ${ROLES.join(' | ')}, required (docs/access-control.md)
  --expires <iso>      expiry, ISO 8601 with a zone (2030-01-01T00:00:00Z); default never
  --tools <a,b>        only these MCP tools (snake_case names)
  --wallets <a,b>      only these wallets (agent ids)
  --ips <cidr,cidr>    only from these source addresses (IPv4/IPv6 CIDRs or addresses)
  --json               print {key, api_key} as JSON`;

const LIST_USAGE = `usage: vaultpilot keys list --tenant NAME [--json]

Lists the tenant's API keys, newest first, revoked and expired ones included: visible id, name,
role, status, scopes, expiry and last use. Never a key or a hash.

options:
  --tenant <name>   the tenant, required
  --json            print the list as JSON`;

const REVOKE_USAGE = `usage: vaultpilot keys revoke --tenant NAME ID_OR_PREFIX [--json]

Revokes a key at once: every request with it is refused from now on and its admin UI sessions
end; in the same transaction its active strategies are paused (key_revoked) and its pending
approvals cancelled, each audited. ID_OR_PREFIX is the key's id (uuid) or visible id (vp_1a2b3c4d). Revoking a revoked key
changes nothing.

options:
  --tenant <name>   the tenant, required
  --json            print the key as JSON`;

/** The CLI option of each field core names in its errors. */
const OPTION_OF: Record<string, string> = {
  name: '--name',
  role: '--role',
  expires_at: '--expires',
  allowed_tools: '--tools',
  allowed_wallets: '--wallets',
  allowed_ips: '--ips',
};

/** The tenant's id; an unknown name is a usage error (nothing is created). */
async function tenantIdOf(db: Db, name: string | undefined): Promise<string> {
  if (name === undefined) throw new UsageError('--tenant is required');
  const id = await resolveTenant(db, name, false).catch((err: unknown) => {
    throw err instanceof ValidationError ? new UsageError(`--tenant: ${err.message.replace(/^tenant: /, '')}`) : err;
  });
  if (id === undefined) throw new UsageError(`--tenant: no tenant named "${name}"`);
  return id;
}

/** The audit scope of a key command: kind `cli`, principal `cli` (the operator of the machine). */
function cliScope(db: Db, tenantId: string, action: string, request: unknown): AuditScope {
  return new AuditScope(db, { tenantId, kind: 'cli', action, principal: 'cli', request, requestId: null, ip: null });
}

/** `a,b , c` → `['a', 'b', 'c']`; an absent option stays absent. */
function listOption(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

const scopeText = (list: string[] | null) => (list === null ? 'any' : list.join(','));

function describe(key: ApiKeyView): string {
  return [
    `  id:       ${key.id}`,
    `  role:     ${key.role}`,
    `  status:   ${key.status}`,
    `  tools:    ${scopeText(key.allowed_tools)}`,
    `  wallets:  ${scopeText(key.allowed_wallets)}`,
    `  ips:      ${scopeText(key.allowed_ips)}`,
    `  expires:  ${key.expires_at ?? 'never'}`,
  ].join('\n');
}

/** The `keys create` command. */
export const keysCreate: CliCommand = {
  path: ['keys', 'create'],
  summary: 'create an API key (printed once) with a role and optional scopes',
  usage: CREATE_USAGE,
  async run(args) {
    const { values } = parseCommandLine(
      args,
      {
        tenant: { type: 'string' },
        name: { type: 'string' },
        role: { type: 'string' },
        expires: { type: 'string' },
        tools: { type: 'string' },
        wallets: { type: 'string' },
        ips: { type: 'string' },
        json: { type: 'boolean' },
      },
      [],
    );
    if (values.name === undefined) throw new UsageError('--name is required');
    if (values.role === undefined) throw new UsageError(`--role is required (${ROLES.join(', ')})`);
    const ctx = await openCliContext();
    try {
      const tenantId = await tenantIdOf(ctx.db, values.tenant);
      const request = {
        tenant: values.tenant,
        name: values.name,
        role: values.role,
        expires_at: values.expires ?? null,
        allowed_tools: listOption(values.tools) ?? null,
        allowed_wallets: listOption(values.wallets) ?? null,
        allowed_ips: listOption(values.ips) ?? null,
      };
      let created: Awaited<ReturnType<typeof createApiKey>>;
      // The key and its audit row commit together (never the key itself in the row).
      const scope = cliScope(ctx.db, tenantId, 'keys.create', request);
      try {
        created = await auditedTransaction(ctx.db, scope, (trx) => createApiKey(trx, null, {
          tenantId,
          name: values.name!,
          role: values.role!,
          expiresAt: values.expires,
          allowedTools: listOption(values.tools),
          allowedWallets: listOption(values.wallets),
          allowedIps: listOption(values.ips),
        }), (made) => ({ response: { key: made.key } }));
      } catch (err) {
        if (err instanceof ValidationError) {
          const top = err.field.replace(/\[.*$/, '');
          throw new UsageError(`${OPTION_OF[top] ?? err.field}: ${err.message}`);
        }
        throw err;
      }
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ key: created.key, api_key: created.apiKey }, null, 2)}\n`);
      } else {
        process.stdout.write(
          `created API key ${created.key.key_id} "${created.key.name}" in tenant ${values.tenant}\n${describe(created.key)}\n\n${created.apiKey}\n\nStore this key now: it is not shown again.\n`,
        );
      }
      return 0;
    } finally {
      await ctx.close();
    }
  },
};

/** The `keys list` command. */
export const keysList: CliCommand = {
  path: ['keys', 'list'],
  summary: 'list a tenant\'s API keys (never the keys themselves)',
  usage: LIST_USAGE,
  async run(args) {
    const { values } = parseCommandLine(args, { tenant: { type: 'string' }, json: { type: 'boolean' } }, []);
    const ctx = await openCliContext();
    try {
      const keys = await listApiKeys(ctx.db, await tenantIdOf(ctx.db, values.tenant));
      if (values.json) {
        process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
        return 0;
      }
      const rows = [
        ['KEY', 'NAME', 'ROLE', 'STATUS', 'TOOLS', 'WALLETS', 'IPS', 'EXPIRES', 'LAST USED'],
        ...keys.map((k) => [k.key_id, k.name, k.role, k.status, scopeText(k.allowed_tools), scopeText(k.allowed_wallets), scopeText(k.allowed_ips), k.expires_at ?? 'never', k.last_used_at ?? 'never']),
      ];
      process.stdout.write(table(rows));
      return 0;
    } finally {
      await ctx.close();
    }
  },
};

/** The `keys revoke` command. */
export const keysRevoke: CliCommand = {
  path: ['keys', 'revoke'],
  summary: 'revoke an API key at once',
  usage: REVOKE_USAGE,
  async run(args) {
    const { values, positionals } = parseCommandLine(args, { tenant: { type: 'string' }, json: { type: 'boolean' } }, ['ID_OR_PREFIX']);
    const ref = positionals[0]!;
    const ctx = await openCliContext();
    try {
      const tenantId = await tenantIdOf(ctx.db, values.tenant);
      let key: ApiKeyView;
      // The revocation (and what it pauses and cancels) commits with its audit row.
      const scope = cliScope(ctx.db, tenantId, 'keys.revoke', { tenant: values.tenant, id: ref });
      try {
        key = await revokeApiKey(ctx.db, null, tenantId, ref, { audit: scope });
        await scope.finish({ response: { key } });
      } catch (err) {
        if (err instanceof VaultPilotError) await scope.fail(err, {}, (auditErr) => ctx.logger.error({ err: auditErr }, 'audit write failed'));
        throw err;
      }
      process.stdout.write(values.json ? `${JSON.stringify(key, null, 2)}\n` : `revoked API key ${key.key_id} "${key.name}" (${key.role}) at ${key.revoked_at}\n`);
      return 0;
    } finally {
      await ctx.close();
    }
  },
};
