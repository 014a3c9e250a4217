/**
 * API keys and admin sessions. A key is `vp_<8 hex visible id>_<43 chars of base64url secret>`
 * (256 bits of entropy), shown once and stored only as its SHA-256 hex digest; because the
 * secret is random and long, a fast hash is enough (no password stretching needed). Admin UI
 * sessions are random tokens stored the same way, bound to the key that opened them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/connect.ts';
import type { Role } from '../db/types.ts';
import type { KeyScopes } from './scopes.ts';

/** Who is calling: resolved from a bearer key or a session cookie. */
export interface Principal {
  tenantId: string;
  keyId: string;
  /** The key's visible id (`vp_<prefix>`), safe to log and show. */
  keyPrefix: string;
  name: string;
  role: Role;
  /** The key's scopes (core/auth/scopes.ts); each `null` when unrestricted. */
  scopes: KeyScopes;
}

/** The principal of an `api_keys` row (joined or not). */
function principalOf(row: {
  id: string;
  tenant_id: string;
  name: string;
  role: Role;
  key_prefix: string;
  allowed_tools: string[] | null;
  allowed_wallets: string[] | null;
  allowed_ips: string[] | null;
}): Principal {
  return {
    tenantId: row.tenant_id,
    keyId: row.id,
    keyPrefix: row.key_prefix,
    name: row.name,
    role: row.role,
    scopes: { tools: row.allowed_tools, wallets: row.allowed_wallets, ips: row.allowed_ips },
  };
}

/** SHA-256 hex digest of a presented secret. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Makes a new API key; returns the plaintext (show once) and what is stored. */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const prefix = randomBytes(4).toString('hex');
  const key = `vp_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix: `vp_${prefix}`, hash: hashSecret(key) };
}

/** Visible id of a key for the audit log: `vp_<prefix>` for our format, else a hash stub. */
export function keyPrefixOf(key: string): string {
  const m = /^(vp_[0-9a-f]{8})_/.exec(key);
  return m ? m[1]! : `key_${hashSecret(key).slice(0, 8)}`;
}

/** The tenant `bootstrapAdminKey` creates: the host operator's, whose owners also see unscoped audit rows. */
export const DEFAULT_TENANT = 'default';

/**
 * Ensures the default tenant and a first admin key exist. With `ADMIN_API_KEY` set, that key is
 * registered (hash only) as the owner key; otherwise, when the database has no key at all, one is
 * generated and returned so the caller can print it once. Runs under an advisory lock so two
 * processes starting together do not both create one.
 *
 * @returns `{ generatedKey }` with the new plaintext key when one was generated, else `{}`.
 */
export async function bootstrapAdminKey(db: Db, adminApiKey: string | undefined): Promise<{ generatedKey?: string; tenantId: string }> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('vaultpilot.bootstrap'))`.execute(trx);
    let tenant = await trx.selectFrom('tenants').select('id').where('name', '=', DEFAULT_TENANT).executeTakeFirst();
    if (!tenant) {
      tenant = await trx.insertInto('tenants').values({ name: DEFAULT_TENANT }).returning('id').executeTakeFirstOrThrow();
    }
    if (adminApiKey) {
      const hash = hashSecret(adminApiKey);
      const exists = await trx.selectFrom('api_keys').select('id').where('key_hash', '=', hash).executeTakeFirst();
      if (!exists) {
        await trx
          .insertInto('api_keys')
          .values({ tenant_id: tenant.id, name: 'admin (ADMIN_API_KEY)', role: 'owner', key_prefix: keyPrefixOf(adminApiKey), key_hash: hash })
          .execute();
      }
      return { tenantId: tenant.id };
    }
    const any = await trx.selectFrom('api_keys').select('id').limit(1).executeTakeFirst();
    if (any) return { tenantId: tenant.id };
    const generated = generateApiKey();
    await trx
      .insertInto('api_keys')
      .values({ tenant_id: tenant.id, name: 'admin (generated at first start)', role: 'owner', key_prefix: generated.prefix, key_hash: generated.hash })
      .execute();
    return { generatedKey: generated.key, tenantId: tenant.id };
  });
}

/**
 * Resolves a presented API key, with its role and scopes. The IP scope is the caller's to check
 * (core/auth/scopes.ts `checkIpScope`): only the transport knows the source address.
 * @returns the principal, or `null` for an unknown, revoked or expired key.
 */
export async function authenticateApiKey(db: Db, presented: string): Promise<Principal | null> {
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'tenant_id', 'name', 'role', 'key_prefix', 'last_used_at', 'allowed_tools', 'allowed_wallets', 'allowed_ips'])
    .where('key_hash', '=', hashSecret(presented))
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', new Date())]))
    .executeTakeFirst();
  if (!row) return null;
  // Record use at most once a minute: a write per call would serialize hot agents on this row.
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
    await db.updateTable('api_keys').set({ last_used_at: new Date() }).where('id', '=', row.id).execute();
  }
  return principalOf(row);
}

/** Admin UI session lifetime. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** Opens an admin UI session for an authenticated key; returns the token for the cookie. */
export async function createSession(db: Db, principal: Principal): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await db
    .insertInto('admin_sessions')
    .values({ token_hash: hashSecret(token), api_key_id: principal.keyId, expires_at: new Date(Date.now() + SESSION_TTL_MS) })
    .execute();
  return token;
}

/**
 * Resolves a session token to its key's principal (role and scopes included); `null` when
 * unknown, expired, or its key was revoked or expired.
 */
export async function authenticateSession(db: Db, token: string): Promise<Principal | null> {
  const row = await db
    .selectFrom('admin_sessions as s')
    .innerJoin('api_keys as k', 'k.id', 's.api_key_id')
    .select(['k.id', 'k.tenant_id', 'k.name', 'k.role', 'k.key_prefix', 'k.allowed_tools', 'k.allowed_wallets', 'k.allowed_ips'])
    .where('s.token_hash', '=', hashSecret(token))
    .where('s.expires_at', '>', new Date())
    .where('k.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('k.expires_at', 'is', null), eb('k.expires_at', '>', new Date())]))
    .executeTakeFirst();
  if (!row) return null;
  return principalOf(row);
}

/** Ends a session (sign-out). Unknown tokens are ignored. */
export async function deleteSession(db: Db, token: string): Promise<void> {
  await db.deleteFrom('admin_sessions').where('token_hash', '=', hashSecret(token)).execute();
}
