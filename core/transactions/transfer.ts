/**
 * Native ETH transfers: simulate, then execute as "a row before a transaction".
 *
 * Execution: chain reads (balance, pending nonce, EIP-1559 fees refused above
 * `MAX_FEE_PER_GAS_GWEI`, gas) happen first; then one database transaction locks the wallet row
 * (`SELECT … FOR UPDATE`), decides the policy, checks funds against the chain balance minus what
 * this wallet's unmined transactions may still spend, checks the spend gate's confirmation code
 * last (core/policy/confirmation.ts), takes the nonce (the larger of `next_nonce` and the chain's
 * pending count), signs, stores the signed raw transaction as `queued`, advances the nonce,
 * enqueues the `tx-monitor` job, writes the call's audit row (core/audit/scope.ts), and commits.
 * Only then is the raw transaction broadcast. Concurrent calls from any process serialize on the
 * row lock, so nonces never collide or leave a gap; a crash after commit leaves a `queued` row
 * that the monitor broadcasts (re-broadcast is harmless). A node's rejection is stored without the
 * signed payload ethers quotes in its messages (core/scrub.ts).
 */
import { sql, type Transaction } from 'kysely';
import { Transaction as EthersTransaction } from 'ethers';
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import type { Database, TransactionRow, WalletRow } from '../db/types.ts';
import type { Eip1559Fees } from '../chain/client.ts';
import { PolicyError, UpstreamError, ValidationError } from '../errors.ts';
import { ethAmount, formatEth, formatGwei, parseAddress, parseEthAmount, type EthAmount } from '../money.ts';
import { transactionsByStatus } from '../metrics.ts';
import { enqueueTxMonitor } from '../jobs/queue.ts';
import { testPause } from '../test-hooks.ts';
import { getWalletByAgent, withSigner } from '../wallets/service.ts';
import { decideSends, enforceSendPolicy } from '../policy/enforce.ts';
import { tryCode, type CodePurpose } from '../policy/confirmation.ts';
import { scrubSignedPayloads } from '../scrub.ts';
import { transactionView, type TransactionView } from './view.ts';

/** Arguments of `execute_transfer` / `simulate_transfer` (AgentVault names). */
export interface TransferInput {
  agent_id: unknown;
  to_address: unknown;
  amount_eth: unknown;
  confirmation_code?: unknown;
}

interface PreparedTransfer {
  wallet: WalletRow;
  to: string;
  valueWei: bigint;
}

/** Validates a transfer's arguments and finds the wallet. Throws coded errors naming the field. */
async function prepare(ctx: CoreContext, principal: Principal, input: TransferInput): Promise<PreparedTransfer> {
  const to = parseAddress('to_address', input.to_address);
  const valueWei = parseEthAmount('amount_eth', input.amount_eth);
  const wallet = await getWalletByAgent(ctx, principal, input.agent_id);
  return { wallet, to, valueWei };
}

/**
 * Whether sends whose largest amount is `largestWei` need `TX_CONFIRM_CODE` (AgentVault's spend
 * gate: above `MAX_TX_ETH`). The code itself is checked only at the last step before signing
 * (core/policy/confirmation.ts), never by a simulation.
 */
export function needsConfirmation(ctx: CoreContext, largestWei: bigint): boolean {
  return largestWei > ctx.config.maxTxWei;
}

/** Why the spend gate asks for a code, for its refusals (never the code). */
export function gatePurpose(ctx: CoreContext, largestWei: bigint): CodePurpose {
  const max = formatEth(ctx.config.maxTxWei);
  return { why: `amount_eth ${formatEth(largestWei)} is above MAX_TX_ETH (${max})`, details: { max_tx_eth: max, amount_eth: formatEth(largestWei) } };
}

/**
 * Refuses EIP-1559 fees above the chain's cap (`MAX_FEE_PER_GAS_GWEI`): a node, or a fee spike,
 * suggesting more is answered with a coded error instead of being paid.
 * @throws {PolicyError} `FEE_CAP_EXCEEDED` with both figures in gwei.
 */
export function checkFeeCap(ctx: CoreContext, fees: Eip1559Fees): void {
  const cap = ctx.config.maxFeePerGasWei;
  if (fees.maxFeePerGas <= cap) return;
  throw new PolicyError('FEE_CAP_EXCEEDED', `the network's suggested max fee per gas (${formatGwei(fees.maxFeePerGas)} gwei) is above this server's cap MAX_FEE_PER_GAS_GWEI (${formatGwei(cap)} gwei); nothing was signed, retry when fees drop`, {
    max_fee_per_gas_gwei: formatGwei(fees.maxFeePerGas),
    cap_gwei: formatGwei(cap),
  });
}

/**
 * Estimates gas for a plain transfer; 21000 to an account without code when the node cannot.
 * @param field - the argument named when a contract recipient rejects ETH (default `to_address`).
 * @throws {UpstreamError} `RPC_UNAVAILABLE` | {@link ValidationError} `field` when a contract recipient rejects ETH.
 */
export async function transferGas(ctx: CoreContext, from: string, to: string, valueWei: bigint, field = 'to_address'): Promise<bigint> {
  try {
    return await ctx.chain.estimateGas({ from, to, value: valueWei });
  } catch (err) {
    if (err instanceof UpstreamError) throw err;
    if ((await ctx.chain.getCode(to)) === '0x') return 21_000n;
    throw new ValidationError(field, 'the recipient contract rejects this ETH transfer (gas estimation reverted)');
  }
}

/** Result of `simulate_transfer` and `execute_transfer(dry_run=true)`. */
export interface TransferSimulation {
  would_succeed: boolean;
  /**
   * Why it would not be sent now: `INSUFFICIENT_FUNDS`, `FEE_CAP_EXCEEDED`, a policy code
   * (`POLICY_*`) or `APPROVAL_REQUIRED`; null when it would succeed (given `confirmation_code`
   * when `requires_confirmation`: a simulation never checks a code).
   */
  reason: string | null;
  /** The policy's decision (docs/policies.md): allow, deny(rule) or require_approval(rule). */
  policy: { decision: 'allow' | 'deny' | 'require_approval'; rule: string | null; message: string | null };
  agent_id: string;
  from_address: string;
  to_address: string;
  chain_id: number;
  amount: EthAmount;
  balance: EthAmount;
  gas_limit: string;
  max_fee_per_gas_gwei: string;
  max_priority_fee_per_gas_gwei: string;
  /** Most the fee can be: gas limit × max fee per gas. */
  max_fee: EthAmount;
  /** Amount plus the most the fee can be. */
  max_total: EthAmount;
  requires_confirmation: boolean;
}

/**
 * Simulates a transfer without signing or writing anything: validates, estimates gas and EIP-1559
 * fees, and reports whether the wallet can pay, whether the spend gate would ask for a code
 * (`requires_confirmation`) and what the policy would decide (a policy refusal outranks the other
 * reasons). A `confirmation_code` argument is ignored: only the send it unlocks checks a code, so
 * no simulation tells whether one is right.
 * @throws {ValidationError} | {@link NotFoundError} | {@link UpstreamError} `RPC_UNAVAILABLE`.
 */
export async function simulateTransfer(ctx: CoreContext, principal: Principal, input: TransferInput): Promise<TransferSimulation> {
  const { wallet, to, valueWei } = await prepare(ctx, principal, input);
  const [balance, fees, pending, decision] = await Promise.all([
    ctx.chain.getBalance(wallet.address),
    ctx.chain.getFees(),
    reservedByPending(ctx, wallet.id),
    decideSends(ctx, ctx.db, wallet, [{ to, valueWei }]),
  ]);
  const gasLimit = valueWei <= balance ? await transferGas(ctx, wallet.address, to, valueWei) : 21_000n;
  const maxFee = gasLimit * fees.maxFeePerGas;
  const needsCode = needsConfirmation(ctx, valueWei);
  let reason: string | null = fees.maxFeePerGas > ctx.config.maxFeePerGasWei ? 'FEE_CAP_EXCEEDED' : null;
  if (balance - pending < valueWei + maxFee) reason = 'INSUFFICIENT_FUNDS';
  if (decision.decision !== 'allow') reason = decision.code;
  return {
    would_succeed: reason === null,
    reason,
    policy: decision.decision === 'allow' ? { decision: 'allow', rule: null, message: null } : { decision: decision.decision, rule: decision.rule, message: decision.message },
    agent_id: wallet.agent_id,
    from_address: wallet.address,
    to_address: to,
    chain_id: Number(wallet.chain_id),
    amount: ethAmount(valueWei),
    balance: ethAmount(balance),
    gas_limit: gasLimit.toString(),
    max_fee_per_gas_gwei: formatGwei(fees.maxFeePerGas),
    max_priority_fee_per_gas_gwei: formatGwei(fees.maxPriorityFeePerGas),
    max_fee: ethAmount(maxFee),
    max_total: ethAmount(valueWei + maxFee),
    requires_confirmation: needsCode,
  };
}

/**
 * Wei this wallet's unmined transactions may still spend (value + gas limit × max fee), as seen
 * by `db` (pass the locking transaction to read under the wallet lock).
 */
export async function reservedByPending(ctx: CoreContext, walletId: string, db = ctx.db): Promise<bigint> {
  const row = await db
    .selectFrom('transactions')
    .select(sql<string>`coalesce(sum(value_wei + gas_limit * max_fee_per_gas), 0)::text`.as('reserved'))
    .where('wallet_id', '=', walletId)
    .where('status', 'in', ['queued', 'broadcast'])
    .executeTakeFirstOrThrow();
  return BigInt(row.reserved);
}

/** Where a transfer came from, recorded on the row (`mcp`, `api`, `worker`, `strategy`). */
export type TransferSource = 'mcp' | 'api' | 'worker' | 'strategy';

/** One send to record: recipient, value and gas limit (from {@link transferGas}). */
export interface SendSpec {
  to: string;
  valueWei: bigint;
  gasLimit: bigint;
}

/** Chain facts read before the wallet lock is taken (so no RPC runs while it is held). */
export interface SendSnapshot {
  balance: bigint;
  /** The chain's pending transaction count of the wallet. */
  chainNonce: number;
  fees: Eip1559Fees;
}

/**
 * Reads balance, pending nonce and EIP-1559 fees in one round of RPC calls (`fees` when the
 * caller has just read them), and refuses fees above the cap ({@link checkFeeCap}).
 * @throws {UpstreamError} `RPC_UNAVAILABLE` | {@link PolicyError} `FEE_CAP_EXCEEDED`.
 */
export async function readSendSnapshot(ctx: CoreContext, address: string, fees?: Eip1559Fees): Promise<SendSnapshot> {
  const [balance, chainNonce, readFees] = await Promise.all([
    ctx.chain.getBalance(address),
    ctx.chain.getTransactionCount(address, 'pending'),
    fees ?? ctx.chain.getFees(),
  ]);
  checkFeeCap(ctx, readFees);
  return { balance, chainNonce, fees: readFees };
}

/**
 * Locks a wallet row in `trx` (`SELECT … FOR UPDATE`) and reads its next nonce and what its
 * unmined transactions reserve. Everything that takes a nonce goes through this lock.
 */
export async function lockWallet(ctx: CoreContext, trx: Transaction<Database>, walletId: string): Promise<{ nextNonce: number; reservedWei: bigint }> {
  const row = await trx.selectFrom('wallets').select('next_nonce').where('id', '=', walletId).forUpdate().executeTakeFirstOrThrow();
  return { nextNonce: Number(row.next_nonce), reservedWei: await reservedByPending(ctx, walletId, trx) };
}

/** Who a recorded send is for: the tenant, the row's `source`, and the strategy run that made it. */
export interface RecordOptions {
  tenantId: string;
  source: TransferSource;
  strategyRunId?: string;
  /**
   * The caller already locked the wallet row in `trx` and read its `next_nonce` and what its
   * pending transactions reserve (the strategy engine does, to decide): not read again.
   */
  locked?: { nextNonce: number; reservedWei: bigint };
  /** A human approved these sends (docs/approvals.md): the policy's approval rules are skipped. */
  approved?: boolean;
}

/** What the wallet lock gave: the next nonce and what pending transactions reserve. */
type Locked = { nextNonce: number; reservedWei: bigint };

/**
 * Checks sends inside the caller's database transaction `trx`: locks the wallet row (unless
 * `opts.locked`), enforces the wallet's policy under that lock (core/policy/enforce.ts: chains,
 * destinations, per-transaction maximum, rolling spend caps, approval rules), and checks that
 * balance minus what pending transactions reserve covers every send plus its most expensive fee.
 * @returns what the lock read, for {@link signSends}.
 * @throws {PolicyError} `POLICY_*` | `APPROVAL_REQUIRED` | `INSUFFICIENT_FUNDS`.
 */
async function checkSends(ctx: CoreContext, trx: Transaction<Database>, wallet: WalletRow, sends: SendSpec[], snap: SendSnapshot, opts: RecordOptions): Promise<Locked> {
  const locked = opts.locked ?? (await lockWallet(ctx, trx, wallet.id));
  await enforceSendPolicy(ctx, trx, wallet, sends, { approved: opts.approved });
  const reserved = locked.reservedWei;
  const needed = sends.reduce((sum, s) => sum + s.valueWei + s.gasLimit * snap.fees.maxFeePerGas, 0n);
  const { balance } = snap;
  if (balance - reserved < needed) {
    throw new PolicyError('INSUFFICIENT_FUNDS', `the wallet cannot cover amount plus the maximum fee: available ${formatEth(balance - reserved > 0n ? balance - reserved : 0n)} ETH (balance ${formatEth(balance)} minus ${formatEth(reserved)} reserved by pending transactions), needed ${formatEth(needed)} ETH`, {
      balance_eth: formatEth(balance),
      reserved_eth: formatEth(reserved),
      needed_eth: formatEth(needed),
    });
  }
  return locked;
}

/**
 * Signs checked sends with consecutive nonces (the larger of `next_nonce` and the chain's
 * pending count), stores the signed raw transactions as `queued`, advances the nonce and
 * enqueues a `tx-monitor` job per transaction, all in `trx`.
 * @throws {UpstreamError} `KEY_PROVIDER_*` — the caller's transaction must then roll back.
 */
async function signSends(ctx: CoreContext, trx: Transaction<Database>, wallet: WalletRow, sends: SendSpec[], snap: SendSnapshot, locked: Locked, opts: RecordOptions): Promise<TransactionRow[]> {
  // The chain's count wins when it is ahead (the key also signed elsewhere, e.g. after an
  // export); ours wins otherwise (our own sends may not have reached the node's pool yet).
  const first = Math.max(locked.nextNonce, snap.chainNonce);
  await testPause(ctx, 'after taking a nonce', { walletId: wallet.id, nonce: first });
  const rows: TransactionRow[] = [];
  for (const [i, send] of sends.entries()) {
    const nonce = first + i;
    const raw = await withSigner(ctx, wallet, (signer) =>
      signer.signTransaction({
        type: 2,
        chainId: Number(wallet.chain_id),
        nonce,
        to: send.to,
        value: send.valueWei,
        gasLimit: send.gasLimit,
        maxFeePerGas: snap.fees.maxFeePerGas,
        maxPriorityFeePerGas: snap.fees.maxPriorityFeePerGas,
      }),
    );
    const inserted = await trx
      .insertInto('transactions')
      .values({
        tenant_id: opts.tenantId,
        wallet_id: wallet.id,
        chain_id: wallet.chain_id,
        nonce,
        from_address: wallet.address,
        to_address: send.to,
        value_wei: send.valueWei.toString(),
        gas_limit: send.gasLimit.toString(),
        max_fee_per_gas: snap.fees.maxFeePerGas.toString(),
        max_priority_fee_per_gas: snap.fees.maxPriorityFeePerGas.toString(),
        tx_hash: EthersTransaction.from(raw).hash!.toLowerCase(),
        raw_tx: raw,
        status: 'queued',
        source: opts.source,
        strategy_run_id: opts.strategyRunId ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    // The caller broadcasts right after commit; the monitor follows up (and re-broadcasts if the
    // process died in between) a moment later.
    await enqueueTxMonitor(ctx.boss, trx, { transactionId: inserted.id }, 2);
    rows.push(inserted);
  }
  await trx.updateTable('wallets').set({ next_nonce: first + sends.length }).where('id', '=', wallet.id).execute();
  return rows;
}

/**
 * Records sends inside the caller's database transaction `trx`: {@link checkSends} (wallet lock,
 * policy, funds), then {@link signSends} (nonces, signed raw transactions stored as `queued`,
 * `tx-monitor` jobs). Broadcast is the caller's next step, after commit ({@link broadcastRecorded}).
 *
 * @returns the inserted rows, in the order of `sends`.
 * @throws {PolicyError} `POLICY_*` | `APPROVAL_REQUIRED` | `INSUFFICIENT_FUNDS` |
 *   {@link UpstreamError} `KEY_PROVIDER_*` — the caller's transaction must then roll back, which
 *   undoes everything written here.
 */
export async function recordSends(
  ctx: CoreContext,
  trx: Transaction<Database>,
  wallet: WalletRow,
  sends: SendSpec[],
  snap: SendSnapshot,
  opts: RecordOptions,
): Promise<TransactionRow[]> {
  const locked = await checkSends(ctx, trx, wallet, sends, snap, opts);
  return signSends(ctx, trx, wallet, sends, snap, locked, opts);
}

/** One transfer to make: recipient, value, and the argument its errors name (default `to_address`). */
export interface TransferSpec {
  to: string;
  valueWei: bigint;
  field?: string;
}

/** Options of {@link sendTransfers}. */
export interface SendOptions {
  /** A human approved these sends: the policy's approval rules and the spend gate are skipped (every other rule applies). */
  approved?: boolean;
  /**
   * The spend gate (`MAX_TX_ETH`): who sends and the `confirmation_code` they gave. Sends above
   * the limit need it (unless `approved`); it is checked last, after policy and funds, under the
   * wallet lock (core/policy/confirmation.ts), so only the send itself tells a right code.
   */
  confirmation?: { principal: Principal; code: unknown };
  /**
   * Runs inside the database transaction that records the sends, after they are recorded (an
   * approval marks itself executed there, so a retried job can never send twice). Throwing rolls
   * everything back.
   */
  inTransaction?: (trx: Transaction<Database>, rows: TransactionRow[]) => Promise<void>;
}

/**
 * Sends transfers from `wallet` as one unit: one round of chain reads (balance, pending nonce,
 * EIP-1559 fees, a gas estimate per transfer), then ONE database transaction checks them all
 * (policy, funds for every one of them, and last the spend gate's code), signs them with
 * consecutive nonces, records them with the call's audit row, and commits; then each is
 * broadcast in nonce order ({@link broadcastRecorded}). A wrong code commits only its failure
 * row (for the lockout) and is refused after.
 *
 * @returns the transaction views, in the order of `sends`.
 * @throws {PolicyError} `POLICY_*` | `APPROVAL_REQUIRED` | `INSUFFICIENT_FUNDS` |
 *   `FEE_CAP_EXCEEDED` | `CONFIRMATION_REQUIRED` | `CONFIRMATION_LOCKED` |
 *   {@link ValidationError} naming the transfer whose recipient contract rejects ETH |
 *   {@link UpstreamError} — nothing is signed or sent then.
 */
export async function sendTransfers(
  ctx: CoreContext,
  tenantId: string,
  wallet: WalletRow,
  sends: TransferSpec[],
  source: TransferSource,
  opts: SendOptions = {},
): Promise<TransactionView[]> {
  // A gas estimate that failed only because funds are short must not hide the clearer
  // INSUFFICIENT_FUNDS, so its error is held until the balance is checked.
  const [snap, gas] = await Promise.all([
    readSendSnapshot(ctx, wallet.address),
    Promise.all(sends.map((s) => transferGas(ctx, wallet.address, s.to, s.valueWei, s.field).catch((err: unknown) => ({ err })))),
  ]);
  const total = sends.reduce((sum, s) => sum + s.valueWei, 0n);
  if (snap.balance < total) {
    const what = sends.length === 1 ? `amount_eth ${formatEth(total)}` : `the ${formatEth(total)} ETH these ${sends.length} sends total`;
    throw new PolicyError('INSUFFICIENT_FUNDS', `the wallet holds ${formatEth(snap.balance)} ETH, less than ${what}`, {
      balance_eth: formatEth(snap.balance),
      amount_eth: formatEth(total),
    });
  }
  const failed = gas.find((g): g is { err: unknown } => typeof g !== 'bigint');
  if (failed) throw failed.err;
  const largest = sends.reduce((m, s) => (s.valueWei > m ? s.valueWei : m), 0n);
  const gated = !opts.approved && needsConfirmation(ctx, largest);
  if (gated && !opts.confirmation) {
    const purpose = gatePurpose(ctx, largest);
    throw new PolicyError('CONFIRMATION_REQUIRED', `${purpose.why}: this send needs a confirmation code from a human`, { ...purpose.details, rule: 'confirmation_code' });
  }
  const specs: SendSpec[] = sends.map((s, i) => ({ to: s.to, valueWei: s.valueWei, gasLimit: gas[i] as bigint }));
  const record = { tenantId, source, approved: opts.approved };
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const locked = await checkSends(ctx, trx, wallet, specs, snap, record);
    if (gated) {
      const p = opts.confirmation!.principal;
      const check = await tryCode(trx, { kind: 'tx_confirm', tenantId, keyId: p.keyId, walletId: wallet.id }, opts.confirmation!.code, ctx.config.txConfirmCode, gatePurpose(ctx, largest));
      // A wrong code commits its failure row and nothing else; the refusal is thrown after.
      if (!check.ok) return { refused: check.refusal };
    }
    const recorded = await signSends(ctx, trx, wallet, specs, snap, locked, record);
    await opts.inTransaction?.(trx, recorded);
    // The call's audit row commits with the sends, before anything is broadcast.
    await ctx.audit?.commit(trx, {
      response: { status: 'recorded', transactions: recorded.map((r) => transactionView({ ...r, agent_id: wallet.agent_id })) },
      agentId: wallet.agent_id,
      walletId: wallet.id,
      decision: 'allow',
    });
    return { recorded };
  });
  if ('refused' in outcome) throw outcome.refused;
  const rows = outcome.recorded;
  transactionsByStatus.inc({ status: 'queued' }, rows.length);
  const out: TransactionView[] = [];
  for (const row of rows) out.push(await broadcastRecorded(ctx, row.id, row.raw_tx, wallet.agent_id));
  return out;
}

/**
 * Executes a transfer (see the module comment for the sequence and guarantees).
 *
 * @returns the transaction view: `broadcast` when the node accepted it, `queued` when every RPC
 *   endpoint was unreachable (the worker will broadcast it), `failed` when the node rejected it.
 * @throws {ValidationError} | {@link NotFoundError} `WALLET_NOT_FOUND` | {@link PolicyError}
 *   `CONFIRMATION_REQUIRED`, `CONFIRMATION_LOCKED`, `INSUFFICIENT_FUNDS`, `FEE_CAP_EXCEEDED`, a
 *   policy code | {@link UpstreamError} — in all these cases nothing was signed or sent.
 */
export async function executeTransfer(
  ctx: CoreContext,
  principal: Principal,
  input: TransferInput,
  source: TransferSource,
): Promise<TransactionView> {
  const { wallet, to, valueWei } = await prepare(ctx, principal, input);
  const [tx] = await sendTransfers(ctx, principal.tenantId, wallet, [{ to, valueWei }], source, { confirmation: { principal, code: input.confirmation_code } });
  return tx!;
}

/**
 * What the node said when it rejected a broadcast: its JSON-RPC error message when ethers kept
 * it, else ethers' short message, scrubbed of signed payloads (ethers' full message quotes the
 * raw transaction it sent, which must never be stored, returned or logged).
 */
function nodeMessage(err: unknown): string {
  const e = err as { error?: { message?: unknown }; shortMessage?: unknown; message?: unknown };
  const text = typeof e?.error?.message === 'string' ? e.error.message : typeof e?.shortMessage === 'string' ? e.shortMessage : typeof e?.message === 'string' ? e.message : String(err);
  return scrubSignedPayloads(text);
}

const ALREADY_KNOWN = /already known|known transaction|already imported|nonce too low|transaction already exists/i;

/**
 * Broadcasts a recorded `queued` transaction and moves it to `broadcast`, or to `failed` when the
 * node rejects it (releasing the nonce when it is still the wallet's latest). An unreachable RPC
 * leaves it `queued` for the monitor. Safe to call more than once.
 */
export async function broadcastRecorded(ctx: CoreContext, id: string, raw: string, agentId: string | null): Promise<TransactionView> {
  try {
    await ctx.chain.broadcast(raw);
  } catch (err) {
    if (err instanceof UpstreamError) {
      ctx.logger.warn({ transactionId: id, err: err.message }, 'broadcast deferred: RPC unreachable; the tx-monitor will retry');
      return loadView(ctx, id, agentId);
    }
    const message = nodeMessage(err);
    if (!ALREADY_KNOWN.test(message)) return failTransaction(ctx, id, message.slice(0, 500), agentId);
  }
  const updated = await ctx.db
    .updateTable('transactions')
    .set({ status: 'broadcast', broadcast_at: new Date(), updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .returningAll()
    .executeTakeFirst();
  if (!updated) return loadView(ctx, id, agentId); // the monitor got there first
  transactionsByStatus.inc({ status: 'broadcast' });
  return transactionView({ ...updated, agent_id: agentId });
}

async function loadView(ctx: CoreContext, id: string, agentId: string | null): Promise<TransactionView> {
  const row = await ctx.db.selectFrom('transactions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return transactionView({ ...row, agent_id: agentId });
}

/** Marks a rejected transaction `failed`; gives its nonce back when no later one was taken. */
async function failTransaction(ctx: CoreContext, id: string, error: string, agentId: string | null): Promise<TransactionView> {
  await ctx.db.transaction().execute(async (trx) => {
    const tx = await trx.selectFrom('transactions').select(['wallet_id', 'nonce', 'status']).where('id', '=', id).executeTakeFirstOrThrow();
    if (tx.status !== 'queued') return;
    const wallet = await trx.selectFrom('wallets').select('next_nonce').where('id', '=', tx.wallet_id).forUpdate().executeTakeFirstOrThrow();
    await trx.updateTable('transactions').set({ status: 'failed', error, updated_at: new Date() }).where('id', '=', id).execute();
    if (BigInt(wallet.next_nonce) === BigInt(tx.nonce) + 1n) {
      await trx.updateTable('wallets').set({ next_nonce: tx.nonce }).where('id', '=', tx.wallet_id).execute();
    }
  });
  transactionsByStatus.inc({ status: 'failed' });
  ctx.logger.warn({ transactionId: id, error }, 'transaction rejected by the node');
  return loadView(ctx, id, agentId);
}
