/**
 * A wallet's effective policy: the policy file's defaults overridden by the wallet's own policy
 * (`wallet_policies`), and the spend the rolling caps count.
 */
import { sql, type Transaction } from 'kysely';
import type { CoreContext } from '../context.ts';
import type { Db } from '../db/connect.ts';
import type { Database } from '../db/types.ts';
import { mergePolicies, walletPolicySchema, type WalletPolicy } from './schema.ts';

/** The layers of a wallet's policy. */
export interface PolicyLayers {
  /** The file's defaults (`policy:` in vaultpilot.yml). */
  defaults: WalletPolicy;
  /** The wallet's own overrides, or `null` when it has none. */
  wallet: WalletPolicy | null;
  /** What applies: defaults overridden by the wallet's fields. */
  effective: WalletPolicy;
}

/** Reads a wallet's stored policy (validated again: a row is never trusted to be well-formed). */
export async function readWalletPolicy(db: Db | Transaction<Database>, walletId: string): Promise<WalletPolicy | null> {
  const row = await db.selectFrom('wallet_policies').select('policy').where('wallet_id', '=', walletId).executeTakeFirst();
  return row ? walletPolicySchema.parse(row.policy) : null;
}

/** The policy layers of a wallet, read through `db` (pass the locking transaction under a wallet lock). */
export async function policyLayers(ctx: CoreContext, walletId: string, db: Db | Transaction<Database> = ctx.db): Promise<PolicyLayers> {
  const wallet = await readWalletPolicy(db, walletId);
  return { defaults: ctx.policy.defaults, wallet, effective: mergePolicies(ctx.policy.defaults, wallet) };
}

/** Statuses whose value has left, or may still leave, the wallet. */
const SPENDING = ['queued', 'broadcast', 'mined', 'confirmed'] as const;

/**
 * Wei a wallet sent or has pending in the last 24 hours and the last 7 days (rolling, by the
 * time each send was recorded). Read under the wallet lock, this is exact: every send of the
 * wallet is recorded under that lock.
 */
export async function spentInWindows(db: Db | Transaction<Database>, walletId: string, now: Date): Promise<{ spent24hWei: bigint; spent7dWei: bigint }> {
  const day = new Date(now.getTime() - 86_400_000);
  const week = new Date(now.getTime() - 7 * 86_400_000);
  const row = await db
    .selectFrom('transactions')
    .select([
      sql<string>`coalesce(sum(value_wei) filter (where created_at > ${day}), 0)::text`.as('day'),
      sql<string>`coalesce(sum(value_wei), 0)::text`.as('week'),
    ])
    .where('wallet_id', '=', walletId)
    .where('status', 'in', SPENDING)
    .where('created_at', '>', week)
    .executeTakeFirstOrThrow();
  return { spent24hWei: BigInt(row.day), spent7dWei: BigInt(row.week) };
}
