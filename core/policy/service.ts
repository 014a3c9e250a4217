/**
 * Per-wallet policy management and inspection: a wallet's overrides (`wallet_policies`) over the
 * policy file's defaults (`vaultpilot.yml`, `ctx.policy`), and the view that shows an operator or
 * an agent what applies, where each rule comes from, and how much of the rolling spend caps is
 * left. Used by `GET|PUT|DELETE /api/wallets/:id/policy` and the read-only `get_policy` tool;
 * there is deliberately no tool that changes a policy (an agent must not loosen its own
 * guardrails).
 *
 * Merge rules (core/policy/schema.ts {@link mergePolicies}): a field the wallet leaves out
 * inherits the file's value; a field the wallet sets replaces it; `null` lifts the rule for the
 * wallet; `denied_destinations` add up (the file's denylist always applies).
 *
 * A write takes the wallet's row lock (`SELECT … FOR UPDATE` on `wallets`), the same lock every
 * send takes before its policy check (core/transactions/transfer.ts `recordSends`), so a policy
 * change never interleaves with a send being decided: the send sees the old policy or the new
 * one, never a mix.
 */
import { sql, type Transaction } from 'kysely';
import type { CoreContext } from '../context.ts';
import type { Db } from '../db/connect.ts';
import type { Database, WalletRow } from '../db/types.ts';
import type { Principal } from '../auth/api-keys.ts';
import { requireAction } from '../auth/roles.ts';
import { ValidationError } from '../errors.ts';
import { ethAmount, type EthAmount } from '../money.ts';
import { getWalletByAgent, getWalletById } from '../wallets/service.ts';
import { spentInWindows } from './effective.ts';
import { POLICY_FIELDS, describeIssue } from './issues.ts';
import { compilePolicy, mergePolicies, walletPolicySchema, type RateLimit, type WalletPolicy } from './schema.ts';

export { POLICY_FIELDS };

/** Where a field of the effective policy comes from. */
export type PolicySource = 'wallet' | 'file' | 'none';

/** Every field present; `null` means "no rule". */
export type EffectivePolicy = { [K in keyof WalletPolicy]-?: Exclude<WalletPolicy[K], undefined> };

/** The rate limits (vaultpilot.yml `rate_limits`) that apply to tool calls naming one wallet. */
export interface WalletRateLimits {
  /** `rate_limits.default`: every tool call of one API key. */
  default: RateLimit | null;
  /** `rate_limits.tools`: calls of one tool by one API key, by tool name. */
  tools: Record<string, RateLimit>;
  /** `rate_limits.agents.<agent_id>`: calls naming this wallet, whichever key makes them. */
  agent: RateLimit | null;
}

/** A wallet's policy as REST and `get_policy` return it. */
export interface WalletPolicyView {
  agent_id: string;
  wallet_id: string;
  /** What applies: the file's defaults overridden by the wallet's fields; `null` = no rule. */
  effective: EffectivePolicy;
  /** The wallet's own overrides (`null`: none, everything comes from the file). */
  wallet: WalletPolicy | null;
  /** The policy file's defaults (`policy:` in vaultpilot.yml). */
  defaults: WalletPolicy;
  /**
   * Where each effective field comes from: `wallet` (an override, `null` included: lifted for
   * this wallet), `file`, or `none` (no rule). `denied_destinations` is `wallet` when the wallet
   * adds addresses; the file's entries (in `defaults`) apply as well.
   */
  sources: Record<keyof WalletPolicy, PolicySource>;
  rate_limits: WalletRateLimits;
  /** Sent or pending in the rolling windows (what the spend caps count). */
  spent: { last_24h: EthAmount; last_7d: EthAmount };
  /** What the caps still allow now (`null`: no cap). */
  remaining: { spend_cap_24h: EthAmount | null; spend_cap_7d: EthAmount | null };
  /** The policy file in force (`null`: no POLICY_FILE, built-in empty defaults). */
  policy_file: string | null;
  /** When and by which key (visible id) the wallet's overrides were last set; `null` without overrides. */
  updated_at: string | null;
  updated_by: string | null;
}

/** Which wallet: by id (REST) or by agent id (MCP). Both are tenant scoped and checked against the key's wallet scope. */
export type WalletRef = { id: string } | { agent_id: string };

/**
 * Resolves a {@link WalletRef} in the principal's tenant.
 * @throws {NotFoundError} `WALLET_NOT_FOUND`; {@link ForbiddenError} `scope.wallets`; {@link ValidationError} bad `agent_id`.
 */
async function resolveWallet(ctx: CoreContext, principal: Principal, ref: WalletRef): Promise<WalletRow> {
  return 'id' in ref ? getWalletById(ctx, principal, ref.id) : getWalletByAgent(ctx, principal, ref.agent_id);
}


/**
 * Validates a wallet policy body (REST `PUT` body, or what a CLI reads).
 * @param body - a JSON object of policy rules (see docs/policies.md); unknown rules are refused.
 * @returns the policy normalized: amounts as decimal ETH strings, checksummed addresses,
 *   destinations as `{address, label?}`, quiet-hours defaults filled in.
 * @throws {ValidationError} `INVALID_INPUT` naming the field path (`policy.max_tx_eth`,
 *   `policy.allowed_destinations.0.address`, …) and the rule it breaks; the value is not echoed
 *   beyond what the rule's message quotes.
 */
export function parseWalletPolicy(body: unknown): WalletPolicy {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('policy', `must be a JSON object of policy rules (${POLICY_FIELDS.join(', ')}); {} removes the wallet's overrides`);
  }
  const parsed = walletPolicySchema.safeParse(body);
  if (!parsed.success) {
    const { field, message } = describeIssue(parsed.error.issues[0]!, body);
    throw new ValidationError(field, message);
  }
  // Drop absent fields so the stored object holds only what the wallet overrides.
  return Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) as WalletPolicy;
}

/** The stored row of a wallet's overrides, validated again (a row is never trusted to be well-formed). */
async function readRow(db: Db | Transaction<Database>, walletId: string): Promise<{ policy: WalletPolicy; updated_at: Date; updated_by: string | null } | undefined> {
  const row = await db.selectFrom('wallet_policies').select(['policy', 'updated_at', 'updated_by']).where('wallet_id', '=', walletId).executeTakeFirst();
  return row ? { policy: walletPolicySchema.parse(row.policy), updated_at: row.updated_at, updated_by: row.updated_by } : undefined;
}

const declared = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);

/** Builds the view of `wallet` from its stored overrides, reading the spend through `db`. */
async function buildView(ctx: CoreContext, db: Db | Transaction<Database>, wallet: WalletRow, now = new Date()): Promise<WalletPolicyView> {
  const row = await readRow(db, wallet.id);
  const defaults = ctx.policy.defaults;
  const own = row?.policy ?? null;
  const merged = mergePolicies(defaults, own);
  const effective = Object.fromEntries(
    POLICY_FIELDS.map((f) => {
      const v = merged[f];
      // An empty denylist is no rule; an empty allowlist is one (nothing may be sent to).
      return [f, v === undefined || (f === 'denied_destinations' && Array.isArray(v) && v.length === 0) ? null : v];
    }),
  ) as EffectivePolicy;
  const sources = Object.fromEntries(
    POLICY_FIELDS.map((f): [string, PolicySource] => {
      if (f === 'denied_destinations') return [f, declared(own?.[f]) ? 'wallet' : declared(defaults[f]) ? 'file' : 'none'];
      if (own && own[f] !== undefined) return [f, 'wallet'];
      return [f, declared(defaults[f]) ? 'file' : 'none'];
    }),
  ) as Record<keyof WalletPolicy, PolicySource>;

  const compiled = compilePolicy(merged);
  const { spent24hWei, spent7dWei } = await spentInWindows(db, wallet.id, now);
  const left = (cap: bigint | null, spent: bigint) => (cap === null ? null : ethAmount(cap > spent ? cap - spent : 0n));
  const limits = ctx.policy.rateLimits;
  return {
    agent_id: wallet.agent_id,
    wallet_id: wallet.id,
    effective,
    wallet: own,
    defaults,
    sources,
    rate_limits: { default: limits.default ?? null, tools: limits.tools ?? {}, agent: limits.agents?.[wallet.agent_id] ?? null },
    spent: { last_24h: ethAmount(spent24hWei), last_7d: ethAmount(spent7dWei) },
    remaining: { spend_cap_24h: left(compiled.spendCap24hWei, spent24hWei), spend_cap_7d: left(compiled.spendCap7dWei, spent7dWei) },
    policy_file: ctx.policy.path,
    updated_at: row ? row.updated_at.toISOString() : null,
    updated_by: row ? row.updated_by : null,
  };
}

/**
 * A wallet's policy: effective rules with their sources, the wallet's overrides, the file's
 * defaults, the rate limits that apply to calls naming it, and the rolling spend against the caps.
 * Any role that may read the wallet may read its policy (agents over `get_policy`).
 * @param walletRef - `{id}` (REST) or `{agent_id}` (MCP), in the principal's tenant.
 * @throws {NotFoundError} `WALLET_NOT_FOUND` (also another tenant's wallet);
 *   {@link ForbiddenError} `FORBIDDEN` (`scope.wallets`) outside the key's wallet scope;
 *   {@link ValidationError} a malformed `agent_id`.
 */
export async function getWalletPolicy(ctx: CoreContext, principal: Principal, walletRef: WalletRef): Promise<WalletPolicyView> {
  const wallet = await resolveWallet(ctx, principal, walletRef);
  return buildView(ctx, ctx.db, wallet);
}

/**
 * Replaces a wallet's overrides with `body` (validated by {@link parseWalletPolicy}); an empty
 * object removes them (as {@link clearWalletPolicy} does). Runs in one database transaction under
 * the wallet's row lock, so no send is decided halfway through the change; records
 * `updated_by` = the key's visible id. Needs the `policies.write` action (owner or admin).
 * @returns the wallet's policy view after the change.
 * @throws {ForbiddenError} `FORBIDDEN` (`role`) for operator, viewer and agent keys, or
 *   (`scope.wallets`) outside the key's wallet scope; {@link ValidationError} `INVALID_INPUT`
 *   naming `policy.<field>` (nothing is changed then); {@link NotFoundError} `WALLET_NOT_FOUND`.
 */
export async function setWalletPolicy(ctx: CoreContext, principal: Principal, walletRef: WalletRef, body: unknown): Promise<WalletPolicyView> {
  requireAction(principal.role, 'policies.write');
  const wallet = await resolveWallet(ctx, principal, walletRef);
  const policy = parseWalletPolicy(body);
  return writePolicy(ctx, principal, wallet, Object.keys(policy).length === 0 ? null : policy);
}

/**
 * Removes a wallet's overrides: the file's defaults apply again. Removing none changes nothing.
 * @returns the wallet's policy view after the change.
 * @throws as {@link setWalletPolicy} does (but never a validation error).
 */
export async function clearWalletPolicy(ctx: CoreContext, principal: Principal, walletRef: WalletRef): Promise<WalletPolicyView> {
  requireAction(principal.role, 'policies.write');
  const wallet = await resolveWallet(ctx, principal, walletRef);
  return writePolicy(ctx, principal, wallet, null);
}

/** Stores (or, with `null`, deletes) the overrides under the wallet lock and returns the new view. */
async function writePolicy(ctx: CoreContext, principal: Principal, wallet: WalletRow, policy: WalletPolicy | null): Promise<WalletPolicyView> {
  return ctx.db.transaction().execute(async (trx) => {
    await trx.selectFrom('wallets').select('id').where('id', '=', wallet.id).where('tenant_id', '=', principal.tenantId).forUpdate().executeTakeFirstOrThrow();
    if (policy === null) {
      await trx.deleteFrom('wallet_policies').where('wallet_id', '=', wallet.id).execute();
    } else {
      const values = { policy: JSON.stringify(policy), updated_by: principal.keyPrefix, updated_at: sql<Date>`now()` };
      await trx
        .insertInto('wallet_policies')
        .values({ wallet_id: wallet.id, tenant_id: wallet.tenant_id, ...values })
        .onConflict((oc) => oc.column('wallet_id').doUpdateSet(values))
        .execute();
    }
    const view = await buildView(ctx, trx, wallet);
    // The change and the call's audit row commit together.
    await ctx.audit?.commit(trx, { response: { policy: view }, agentId: wallet.agent_id, walletId: wallet.id });
    return view;
  });
}
