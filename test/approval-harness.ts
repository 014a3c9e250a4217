/**
 * Approval test helpers: API keys of any role (inserted directly; the key is returned once, as
 * the CLI would print it), pending approvals made the way executeTransfer makes them, REST calls
 * with a bearer key, and reads of an approval's row.
 */
import { parseEther } from 'ethers';
import { authenticateApiKey, generateApiKey, type Principal } from '../core/auth/api-keys.ts';
import { requestApproval, type ApprovalView } from '../core/approvals/service.ts';
import type { ApprovalRow, Role, WalletRow } from '../core/db/types.ts';
import type { Stack } from './harness.ts';

/** A key of `role` in `tenantId` (default: the admin key's tenant): the plaintext and its principal. */
export async function createKey(stack: Stack, role: Role, name: string, tenantId?: string): Promise<{ key: string; principal: Principal }> {
  const db = stack.server.ctx.db;
  const tenant = tenantId ?? (await db.selectFrom('tenants').select('id').where('name', '=', 'default').executeTakeFirstOrThrow()).id;
  const k = generateApiKey();
  await db.insertInto('api_keys').values({ tenant_id: tenant, name, role, key_prefix: k.prefix, key_hash: k.hash }).execute();
  const principal = await authenticateApiKey(db, k.key);
  if (!principal) throw new Error('the new key does not authenticate');
  return { key: k.key, principal };
}

/** The wallet row of a wallet id. */
export async function walletRow(stack: Stack, id: string): Promise<WalletRow> {
  return stack.server.ctx.db.selectFrom('wallets').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/**
 * A pending approval of a send from `walletId`, asked for by `requester`, as executeTransfer
 * records one when the policy engine says a human must approve it.
 */
export async function pendingApproval(
  stack: Stack,
  requester: Principal,
  walletId: string,
  send: { to: string; eth: string; reason?: string | null },
): Promise<ApprovalView> {
  return requestApproval(stack.server.ctx, requester, {
    wallet: await walletRow(stack, walletId),
    toAddress: send.to,
    valueWei: parseEther(send.eth),
    reason: send.reason === undefined ? 'test send' : send.reason,
    rule: 'approval_threshold_eth',
    ruleMessage: `amount ${send.eth} ETH is above the approval threshold of 0.01 ETH`,
    source: 'mcp',
  });
}

/** The approval's row as stored (status without the expiry reading). */
export async function approvalRow(stack: Stack, id: string): Promise<ApprovalRow> {
  return stack.server.ctx.db.selectFrom('approvals').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** A REST call with a bearer key; the status and the parsed JSON body. */
export async function rest<T = Record<string, unknown>>(stack: Stack, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** The error of a REST error body. */
export type RestError = { error: { code: string; message: string; details: Record<string, unknown> | null } };
