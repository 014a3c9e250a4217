/**
 * The pieces of a VaultPilot tool call, each timed alone in this process against the same
 * Postgres and chain: building the per-request MCP server, the auth lookup, the audit write (a
 * short transaction: the tenant's chain lock, the chain head, the insert), a bare database round
 * trip, a transaction with and without the wallet row lock (a row lock makes the commit wait for
 * a WAL flush), the key unwrap, address derivation and signing, and the JSON-RPC reads a
 * transfer makes. They are sequential and uncontended, so they show what
 * each step costs at least, not how steps overlap under load.
 */
import type { CoreContext } from '../core/context.ts';
import type { Principal } from '../core/auth/api-keys.ts';
import { authenticateApiKey } from '../core/auth/api-keys.ts';
import { recordAudit } from '../core/audit/log.ts';
import { getWalletByAgent, withSigner, wrappedKeyOf } from '../core/wallets/service.ts';
import { sql } from 'kysely';
import { Wallet, hexlify } from 'ethers';
import { createMcpServer } from '../server/mcp/server.ts';
import { createNoopMcpServer } from './noop-mcp.ts';
import { randomAddress } from './floor.ts';
import { runSequential, type Summary } from './stats.ts';

/** One timed step. */
export interface BreakdownRow {
  step: string;
  summary: Summary;
}

/**
 * Times each step `n` times after `warmup` unrecorded calls.
 * @param agentId - a funded wallet of `principal`'s tenant (used for signing and gas estimates).
 */
export async function measureBreakdown(ctx: CoreContext, adminKey: string, principal: Principal, agentId: string, n: number, warmup: number): Promise<BreakdownRow[]> {
  const wallet = await getWalletByAgent(ctx, principal, agentId);
  const fees = await ctx.chain.getFees();
  const to = randomAddress();
  const session = { core: ctx, principal, requestId: () => 'bench', ip: '127.0.0.1' };
  const tx = { type: 2, chainId: ctx.chain.chainId, nonce: 0, to, value: 1n, gasLimit: 21_000n, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
  const wrapped = wrappedKeyOf(wallet);
  // The bench's own throwaway copy of the key, only to time the steps withSigner combines.
  const keyHex = hexlify(await ctx.keys.unwrap(wrapped, { tenantId: wallet.tenant_id, address: wallet.address }));
  const ready = new Wallet(keyHex);
  const steps: Array<[string, () => Promise<unknown>]> = [
    ['McpServer + 1 tool (no-op floor server, per request)', async () => createNoopMcpServer()],
    ['createMcpServer: all VaultPilot tools (per request)', async () => createMcpServer(session)],
    ['authenticateApiKey: 1 SELECT (per request)', () => authenticateApiKey(ctx.db, adminKey)],
    ['recordAudit: BEGIN, chain lock, SELECT head, INSERT, COMMIT (per tool call)', () =>
      recordAudit(ctx.db, {
        tenantId: principal.tenantId,
        kind: 'tool_call',
        action: 'bench_breakdown',
        principal: principal.keyPrefix,
        agentId,
        walletId: wallet.id,
        status: 'ok',
        durationMs: 1,
        request: { agent_id: agentId },
        response: { agent_id: agentId, address: wallet.address, balance: { eth: '1', wei: '1000000000000000000' } },
        requestId: 'bench',
        ip: '127.0.0.1',
      })],
    ['SELECT 1 (one Postgres round trip)', () => sql`select 1`.execute(ctx.db)],
    ['transaction: BEGIN, SELECT wallet FOR UPDATE, COMMIT', () =>
      ctx.db.transaction().execute((trx) => trx.selectFrom('wallets').select(['id', 'next_nonce']).where('id', '=', wallet.id).forUpdate().executeTakeFirstOrThrow())],
    ['transaction: BEGIN, SELECT wallet (no lock), COMMIT', () =>
      ctx.db.transaction().execute((trx) => trx.selectFrom('wallets').select(['id', 'next_nonce']).where('id', '=', wallet.id).executeTakeFirstOrThrow())],
    ['key provider unwrap (Fernet) alone', () => ctx.keys.unwrap(wrapped, { tenantId: wallet.tenant_id, address: wallet.address })],
    ['new Wallet(key): derive public key and address', async () => new Wallet(keyHex).address],
    ['signTransaction with a ready Wallet (the floor pays this too)', () => ready.signTransaction(tx)],
    ['withSigner: unwrap + derive address + sign (what a transfer pays)', () => withSigner(ctx, wallet, (signer) => signer.signTransaction(tx))],
    ['chain.getBalance (eth_getBalance)', () => ctx.chain.getBalance(wallet.address)],
    ['chain.getFees (getFeeData: latest block + priority fee)', () => ctx.chain.getFees()],
    ['chain.estimateGas (eth_estimateGas)', () => ctx.chain.estimateGas({ from: wallet.address, to, value: 1n })],
    ['chain.getTransactionCount (pending)', () => ctx.chain.getTransactionCount(wallet.address, 'pending')],
  ];
  const rows: BreakdownRow[] = [];
  for (const [step, fn] of steps) rows.push({ step, summary: await runSequential(n, warmup, fn) });
  return rows;
}
