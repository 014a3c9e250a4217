/**
 * Tenant isolation (issue 5): two tenants on one stack, and every MCP tool and every REST route
 * tried by tenant B with tenant A's identifiers. Nothing leaks (no tenant A id, address, hash,
 * label, key or secret in anything B gets back, unless B sent it itself) and nothing changes (A's
 * rows in every table with a `tenant_id`, and A's wallets on the chain, are the same after as
 * before).
 *
 * Coverage is enforced, not hoped for: the MCP tools come from `tools/list` and the REST routes
 * from `/api/openapi.json` and from the app's own router; a tool or route missing from
 * {@link TOOL_CASES} / {@link ROUTE_CASES} fails the coverage tests. To cover a new tool or route,
 * add one entry: a function from the identifiers to a list of cases, each `not_found` (B must get
 * a not-found error, worded exactly as for an id that exists nowhere), `ok` (must succeed, and on
 * B's own rows only) or `any` (may succeed or fail, but leaks nothing); a REST route may also be
 * `forbidden` (B must get 403 `FORBIDDEN`, `rule: 'role'`: the host operator's routes, which
 * only tenant A, the default tenant, may use).
 *
 * Agent ids and strategy labels are per tenant, so B may legitimately own the same names as A:
 * `shared` is an agent id both tenants hold a wallet for (B must only ever see its own), and the
 * `fresh` pools are A's names that B takes over during the run (spin_up_wallet, imports, new
 * strategies: B gets new rows of its own, never A's). A's approval, wallet policy and extra keys
 * are inserted directly, so this file depends only on the schema, not on the code that manages
 * them. The stack runs without a worker, so nothing changes A's rows behind the test's back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { sql } from 'kysely';
import { Mnemonic, Wallet, encryptKeystoreJsonSync, parseEther, toBeHex } from 'ethers';
import { authenticateApiKey, generateApiKey, keyPrefixOf, type Principal } from '../core/auth/api-keys.ts';
import { createWallet } from '../core/wallets/service.ts';
import { createStrategy } from '../core/strategies/service.ts';
import { decideApproval } from '../core/approvals/service.ts';
import { encodeCursor } from '../core/db/pagination.ts';
import { buildApp } from '../server/app.ts';
import { refusalAuditor } from '../server/auth.ts';
import { callOk, chainProvider, connectMcp, freshAddress, startStack, textOf, type Stack } from './harness.ts';

// ---------------------------------------------------------------------------------------------
// Identifiers and cases

/** What a tenant owns that the other must never reach (tenant A's, or random look-alikes). */
interface Ids {
  tenantId: string;
  /** An agent id only this tenant has a wallet for. */
  agent: string;
  walletId: string;
  address: string;
  /** A pagination cursor made from this tenant's newest wallet / transaction / strategy. */
  walletCursor: string;
  txId: string;
  txHash: string;
  txCursor: string;
  /** The transaction a strategy run sent, and that run. */
  runTxHash: string;
  runId: string;
  strategyId: string;
  label: string;
  strategyCursor: string;
  approvalId: string;
  /** An active API key of the tenant (row id, visible id) and a revoked one. */
  keyId: string;
  keyPrefix: string;
  revokedKeyId: string;
}

/** What a case builder gets: A's ids (the target), names both tenants hold, and makers of fresh values. */
interface CaseCtx {
  a: Ids;
  /** An agent id both tenants have a wallet for. */
  shared: string;
  /** A fresh recipient address (nobody's wallet). */
  to: () => string;
  /** Names A holds that B may take over (each handed out once). */
  fresh: { agent: () => string; label: () => string };
  chainId: number;
  exportCode: string;
  /** Tenant B's key (for the sign-in route). */
  bKey: string;
}

/**
 * - `not_found`: B must get a not-found error (one of {@link NOT_FOUND_CODES}), and the same
 *   answer as for ids that exist in no tenant (so B cannot even tell that A's id exists);
 * - `ok`: must succeed; what comes back is B's own (no A data);
 * - `any`: may succeed or fail; no A data either way.
 */
type Expect = 'not_found' | 'ok' | 'any';

interface ToolCase {
  args: Record<string, unknown>;
  expect: Expect;
  /** false: not found for tenant A too (so it is not a control that A's ids are real). */
  control?: false;
}

interface RouteCase {
  params?: Record<string, string | undefined>;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** `forbidden`: B must get 403 `FORBIDDEN` with `details.rule` `role` (and nothing changes). */
  expect: Expect | 'forbidden';
  /**
   * The response lists audit events (`jsonl`, `csv`, or the JSON key of the list): B's events
   * carry the A ids B sent in its calls, so each event may echo what B sent; an event that is one
   * of A's rows, or that carries anything else of A's, is a leak.
   */
  events?: string;
}

const NOT_FOUND_CODES = ['WALLET_NOT_FOUND', 'TRANSACTION_NOT_FOUND', 'STRATEGY_NOT_FOUND', 'APPROVAL_NOT_FOUND', 'KEY_NOT_FOUND', 'TENANT_NOT_FOUND', 'NOT_FOUND'];

const AMOUNT = '0.0001';
const dcaParams = (x: CaseCtx) => ({ to_address: x.to(), amount_eth: AMOUNT, interval_seconds: 3600 });
const later = () => new Date(Date.now() + 30 * 86_400_000).toISOString();
const earlier = () => new Date(Date.now() - 60_000).toISOString();

/** Keystore v3 of a random key, cheap scrypt (N=2^10) so a test can make many. */
function cheapKeystore(password: string): string {
  const w = Wallet.createRandom();
  return encryptKeystoreJsonSync({ address: w.address, privateKey: w.privateKey }, password, { scrypt: { N: 1024 } });
}

function typedData(chainId: number, owner: string) {
  return {
    types: {
      EIP712Domain: [
        { name: 'name', type: 'string' },
        { name: 'chainId', type: 'uint256' },
      ],
      Mail: [
        { name: 'from', type: 'address' },
        { name: 'contents', type: 'string' },
      ],
    },
    primaryType: 'Mail',
    domain: { name: 'Isolation', chainId },
    message: { from: owner, contents: 'hello' },
  };
}

/** A random signer for the verify_* tools (signatures made locally). */
const verifier = Wallet.createRandom();

/**
 * Every MCP tool, with the calls tenant B makes with tenant A's identifiers. Tools missing here
 * fail the coverage test; entries for tools the server does not (yet) offer are skipped.
 */
const TOOL_CASES: Record<string, (x: CaseCtx) => ToolCase[] | Promise<ToolCase[]>> = {
  // Wallets
  spin_up_wallet: (x) => [
    { args: { agent_id: x.fresh.agent() }, expect: 'ok' },
    { args: { agent_id: x.shared }, expect: 'ok' },
  ],
  list_wallets: (x) => [
    { args: {}, expect: 'ok' },
    { args: { limit: 200 }, expect: 'ok' },
    { args: { cursor: x.a.walletCursor }, expect: 'ok' },
  ],
  query_balance: (x) => [
    { args: { agent_id: x.a.agent }, expect: 'not_found' },
    { args: { agent_id: x.shared }, expect: 'ok' },
  ],
  // Transfers
  simulate_transfer: (x) => [
    { args: { agent_id: x.a.agent, to_address: x.to(), amount_eth: AMOUNT }, expect: 'not_found' },
    { args: { agent_id: x.shared, to_address: x.to(), amount_eth: AMOUNT }, expect: 'ok' },
  ],
  execute_transfer: (x) => [
    { args: { agent_id: x.a.agent, to_address: x.to(), amount_eth: AMOUNT }, expect: 'not_found' },
    { args: { agent_id: x.a.agent, to_address: x.to(), amount_eth: AMOUNT, dry_run: true }, expect: 'not_found' },
    { args: { agent_id: x.shared, to_address: x.to(), amount_eth: AMOUNT }, expect: 'ok' },
  ],
  get_transaction: (x) => [
    { args: { tx_hash: x.a.txHash }, expect: 'not_found' },
    { args: { id: x.a.txId }, expect: 'not_found' },
    { args: { tx_hash: x.a.runTxHash }, expect: 'not_found' },
  ],
  // Chain
  provider_status: () => [{ args: {}, expect: 'ok' }],
  request_faucet_funds: (x) => [
    { args: { agent_id: x.a.agent, amount_eth: '0.01' }, expect: 'not_found' },
    { args: { agent_id: x.shared, amount_eth: '0.01' }, expect: 'ok' },
  ],
  inspect_contract: (x) => [{ args: { address: x.a.address }, expect: 'ok' }],
  // Toolkit: imports under A's names make B's own wallets
  import_wallet_from_private_key: (x) => [{ args: { agent_id: x.fresh.agent(), private_key: Wallet.createRandom().privateKey }, expect: 'ok' }],
  import_wallet_from_mnemonic: (x) => [{ args: { agent_id: x.fresh.agent(), mnemonic: Mnemonic.fromEntropy(randomBytes(16)).phrase }, expect: 'ok' }],
  import_wallet_from_encrypted_json: (x) => [{ args: { agent_id: x.fresh.agent(), encrypted_json: cheapKeystore('isolation-pw'), password: 'isolation-pw' }, expect: 'ok' }],
  export_wallet_keystore: (x) => [
    { args: { agent_id: x.a.agent, passphrase: 'isolation passphrase' }, expect: 'not_found' },
    { args: { agent_id: x.shared, passphrase: 'isolation passphrase' }, expect: 'ok' },
  ],
  encrypt_wallet_keystore: (x) => [
    { args: { agent_id: x.a.agent, password: 'isolation password' }, expect: 'not_found' },
    { args: { agent_id: x.shared, password: 'isolation password' }, expect: 'ok' },
  ],
  export_wallet_private_key: (x) => [
    { args: { agent_id: x.a.agent, confirmation_code: x.exportCode }, expect: 'not_found' },
    { args: { agent_id: x.shared, confirmation_code: x.exportCode }, expect: 'ok' },
  ],
  generate_mnemonic: () => [{ args: {}, expect: 'ok' }],
  decrypt_wallet_keystore: () => [{ args: { encrypted_json: cheapKeystore('isolation-pw'), password: 'isolation-pw' }, expect: 'ok' }],
  sign_message: (x) => [
    { args: { agent_id: x.a.agent, message: 'isolation' }, expect: 'not_found' },
    { args: { agent_id: x.shared, message: 'isolation' }, expect: 'ok' },
  ],
  verify_message: async (x) => [{ args: { address: x.a.address, message: 'isolation', signature: await verifier.signMessage('isolation') }, expect: 'ok' }],
  sign_typed_data: (x) => [
    { args: { agent_id: x.a.agent, typed_data: typedData(x.chainId, x.a.address) }, expect: 'not_found' },
    { args: { agent_id: x.shared, typed_data: typedData(x.chainId, x.a.address) }, expect: 'ok' },
  ],
  verify_typed_data: async (x) => {
    const data = typedData(x.chainId, x.a.address);
    const { EIP712Domain: _domain, ...types } = data.types;
    const signature = await verifier.signTypedData(data.domain, types, data.message);
    return [{ args: { address: x.a.address, typed_data: data, signature }, expect: 'ok' }];
  },
  // Strategies
  create_strategy_dca: (x) => [
    { args: { label: x.a.label, agent_id: x.a.agent, ...dcaParams(x), start: false }, expect: 'not_found' },
    { args: { label: x.fresh.label(), agent_id: x.shared, ...dcaParams(x), start: false }, expect: 'ok' },
  ],
  create_strategy: (x) => [
    { args: { kind: 'dca', label: x.a.label, agent_id: x.a.agent, params: dcaParams(x), start: false }, expect: 'not_found' },
    { args: { kind: 'dca', label: x.fresh.label(), agent_id: x.shared, params: dcaParams(x), start: false }, expect: 'ok' },
  ],
  start_strategy: (x) => [
    { args: { label: x.a.label }, expect: 'not_found' },
    { args: { label: x.a.strategyId }, expect: 'not_found', control: false },
  ],
  stop_strategy: (x) => [{ args: { label: x.a.label }, expect: 'not_found' }],
  update_strategy: (x) => [{ args: { label: x.a.label, params: dcaParams(x) }, expect: 'not_found' }],
  delete_strategy: (x) => [{ args: { label: x.a.label }, expect: 'not_found' }],
  strategy_status: (x) => [
    { args: { label: x.a.label }, expect: 'not_found' },
    { args: { label: x.a.strategyId }, expect: 'not_found', control: false },
  ],
  list_strategies: (x) => [
    { args: {}, expect: 'ok' },
    { args: { agent_id: x.a.agent }, expect: 'ok' },
    { args: { agent_id: x.shared }, expect: 'ok' },
    { args: { status: 'stopped' }, expect: 'ok' },
    { args: { cursor: x.a.strategyCursor }, expect: 'ok' },
  ],
  tick_strategy: (x) => [
    { args: { label: x.a.label }, expect: 'not_found' },
    { args: { label: x.a.label, dry_run: true }, expect: 'not_found' },
  ],
  // One-shots
  send_when_gas_below: (x) => [
    { args: { agent_id: x.a.agent, to_address: x.to(), amount_eth: AMOUNT, max_base_fee_gwei: '100000' }, expect: 'not_found' },
    { args: { agent_id: x.a.agent, to_address: x.to(), amount_eth: AMOUNT, max_base_fee_gwei: '100000', dry_run: true }, expect: 'not_found' },
    { args: { agent_id: x.shared, to_address: x.to(), amount_eth: AMOUNT, max_base_fee_gwei: '100000', dry_run: true }, expect: 'ok' },
    // A ceiling of 1 wei: persisted as a strategy of B's under one of A's labels (or sent now, if the fee is that low).
    { args: { agent_id: x.shared, to_address: x.to(), amount_eth: AMOUNT, max_base_fee_gwei: '0.000000001', persist: true, label: x.fresh.label() }, expect: 'ok' },
  ],
  dca_once: (x) => [
    { args: { agent_id: x.a.agent, to_address: x.to(), amount_eth: AMOUNT }, expect: 'not_found' },
    { args: { agent_id: x.shared, to_address: x.to(), amount_eth: AMOUNT, dry_run: true }, expect: 'ok' },
  ],
  scheduled_send_once: (x) => [
    { args: { agent_id: x.a.agent, to_address: x.to(), amount_eth: AMOUNT, send_at_iso: earlier() }, expect: 'not_found' },
    { args: { agent_id: x.shared, to_address: x.to(), amount_eth: AMOUNT, send_at_iso: later(), persist: true, label: x.fresh.label() }, expect: 'ok' },
  ],
  micro_tip_equal: (x) => [
    { args: { agent_id: x.a.agent, recipients: [x.to(), x.to()], total_amount_eth: AMOUNT }, expect: 'not_found' },
    { args: { agent_id: x.shared, recipients: [x.to(), x.to()], total_amount_eth: AMOUNT, dry_run: true }, expect: 'ok' },
  ],
  micro_tip_amounts: (x) => [
    { args: { agent_id: x.a.agent, items: { [x.to()]: AMOUNT } }, expect: 'not_found' },
    { args: { agent_id: x.shared, items: { [x.to()]: AMOUNT }, dry_run: true }, expect: 'ok' },
  ],
  // Approvals and policies (issue 5)
  get_approval_status: (x) => [{ args: { approval_id: x.a.approvalId }, expect: 'not_found' }],
  list_approvals: () => [
    { args: {}, expect: 'ok' },
    { args: { status: 'pending' }, expect: 'ok' },
  ],
  get_policy: (x) => [
    { args: { agent_id: x.a.agent }, expect: 'not_found' },
    { args: { agent_id: x.shared }, expect: 'ok' },
  ],
};

/**
 * Every REST route (`METHOD /openapi/path/{param}`), with the requests tenant B makes with tenant
 * A's identifiers. Routes missing here fail the coverage test; entries for routes the server does
 * not (yet) have are skipped.
 */
const ROUTE_CASES: Record<string, (x: CaseCtx) => RouteCase[]> = {
  'GET /api/openapi.json': () => [{ expect: 'ok' }],
  'POST /api/session': (x) => [{ body: { api_key: x.bKey }, expect: 'ok' }],
  'GET /api/session': () => [{ expect: 'ok' }],
  'DELETE /api/session': () => [{ expect: 'ok' }],
  'GET /api/wallets': (x) => [{ expect: 'ok' }, { query: { limit: '200' }, expect: 'ok' }, { query: { cursor: x.a.walletCursor }, expect: 'ok' }],
  'POST /api/wallets/import': (x) => [
    { body: { agent_id: x.fresh.agent(), kind: 'private_key', private_key: Wallet.createRandom().privateKey }, expect: 'ok' },
    { body: { agent_id: x.fresh.agent(), kind: 'mnemonic', mnemonic: Mnemonic.fromEntropy(randomBytes(16)).phrase }, expect: 'ok' },
  ],
  'GET /api/wallets/{id}': (x) => [{ params: { id: x.a.walletId }, expect: 'not_found' }],
  'POST /api/wallets/{id}/keystore': (x) => [{ params: { id: x.a.walletId }, body: { passphrase: 'isolation passphrase' }, expect: 'not_found' }],
  'GET /api/wallets/{id}/policy': (x) => [{ params: { id: x.a.walletId }, expect: 'not_found' }],
  'PUT /api/wallets/{id}/policy': (x) => [{ params: { id: x.a.walletId }, body: { max_tx_eth: '0.5' }, expect: 'not_found' }],
  'DELETE /api/wallets/{id}/policy': (x) => [{ params: { id: x.a.walletId }, expect: 'not_found' }],
  'GET /api/transactions': (x) => [
    { expect: 'ok' },
    { query: { wallet_id: x.a.walletId }, expect: 'ok' },
    { query: { cursor: x.a.txCursor }, expect: 'ok' },
  ],
  'GET /api/strategies': (x) => [
    { expect: 'ok' },
    { query: { agent_id: x.a.agent }, expect: 'ok' },
    { query: { agent_id: x.shared }, expect: 'ok' },
    { query: { cursor: x.a.strategyCursor }, expect: 'ok' },
  ],
  'POST /api/strategies': (x) => [
    { body: { kind: 'dca', label: x.a.label, agent_id: x.a.agent, params: dcaParams(x), start: false }, expect: 'not_found' },
    { body: { kind: 'dca', label: x.fresh.label(), agent_id: x.shared, params: dcaParams(x), start: false }, expect: 'ok' },
  ],
  'GET /api/strategies/{id}': (x) => [{ params: { id: x.a.strategyId }, expect: 'not_found' }],
  'PATCH /api/strategies/{id}': (x) => [{ params: { id: x.a.strategyId }, body: { params: dcaParams(x) }, expect: 'not_found' }],
  'DELETE /api/strategies/{id}': (x) => [{ params: { id: x.a.strategyId }, expect: 'not_found' }],
  'GET /api/strategies/{id}/runs': (x) => [{ params: { id: x.a.strategyId }, expect: 'not_found' }],
  'POST /api/strategies/{id}/start': (x) => [{ params: { id: x.a.strategyId }, expect: 'not_found' }],
  'POST /api/strategies/{id}/stop': (x) => [{ params: { id: x.a.strategyId }, expect: 'not_found' }],
  'POST /api/strategies/{id}/tick': (x) => [
    { params: { id: x.a.strategyId }, expect: 'not_found' },
    { params: { id: x.a.strategyId }, body: { dry_run: true }, expect: 'not_found' },
  ],
  'GET /api/events': (x) => [
    { expect: 'ok', events: 'events' },
    { query: { limit: '200' }, expect: 'ok', events: 'events' },
    { query: { wallet_id: x.a.walletId }, expect: 'ok', events: 'events' },
    { query: { agent_id: x.a.agent }, expect: 'ok', events: 'events' },
    { query: { action: 'execute_transfer' }, expect: 'ok', events: 'events' },
  ],
  'GET /api/events/export': () => [
    { query: { format: 'jsonl' }, expect: 'ok', events: 'jsonl' },
    { query: { format: 'csv' }, expect: 'ok', events: 'csv' },
  ],
  'GET /api/approvals': () => [{ expect: 'ok' }, { query: { status: 'pending' }, expect: 'ok' }],
  'GET /api/approvals/{id}': (x) => [{ params: { id: x.a.approvalId }, expect: 'not_found' }],
  'POST /api/approvals/{id}/approve': (x) => [{ params: { id: x.a.approvalId }, body: {}, expect: 'not_found' }],
  'POST /api/approvals/{id}/reject': (x) => [{ params: { id: x.a.approvalId }, body: {}, expect: 'not_found' }],
  'GET /api/keys': () => [{ expect: 'ok' }],
  'POST /api/keys': () => [{ body: { name: 'isolation-b-viewer', role: 'viewer' }, expect: 'ok' }],
  'DELETE /api/keys/{id}': (x) => [{ params: { id: x.a.keyId }, expect: 'not_found' }],
  'POST /api/keys/{id}/revoke': (x) => [{ params: { id: x.a.keyId }, expect: 'not_found' }],
  // The host operator's (owner keys of the default tenant, here A's): B is refused, nothing is created.
  'GET /api/tenants': () => [{ expect: 'forbidden' }],
  // Shared infrastructure: the host operator's owners and admins only.
  'GET /api/readiness': () => [{ expect: 'forbidden' }],
  'POST /api/tenants': () => [{ body: { name: 'isolation-b-made-tenant' }, expect: 'forbidden' }, { body: { name: 'default' }, expect: 'forbidden' }],
};

// ---------------------------------------------------------------------------------------------
// Leak detection

/** A value of tenant A's that B must never get back, and where it came from (for messages). */
interface Marker {
  value: string;
  source: string;
}

/** Columns whose values identify or belong to one tenant's rows. */
const MARKER_COLUMNS = new Set([
  'id', 'tenant_id', 'wallet_id', 'strategy_id', 'strategy_run_id', 'transaction_id', 'transaction_ids', 'api_key_id', 'requested_by_key_id', 'decided_by_key_id',
  'created_by_key_id', 'address', 'from_address', 'to_address', 'tx_hash', 'raw_tx', 'agent_id', 'label', 'key_prefix', 'key_hash', 'wrapped_key', 'token_hash',
  'principal', 'requested_by', 'decided_by', 'reason', 'decision_note', 'request_id', 'hash',
]);

/** The tables with a `tenant_id` column (so a table added later is snapshotted and scanned too). */
async function tenantTables(stack: Stack): Promise<string[]> {
  const r = await sql<{ table_name: string }>`
    select table_name from information_schema.columns
    where table_schema = current_schema() and column_name = 'tenant_id'
    order by table_name`.execute(stack.server.ctx.db);
  return r.rows.map((x) => x.table_name);
}

/** Every row of `tenantId`, by table (plus the tenant row and the sessions of its keys). */
async function tenantRows(stack: Stack, tenantId: string): Promise<Record<string, Array<Record<string, unknown>>>> {
  const db = stack.server.ctx.db;
  const out: Record<string, Array<Record<string, unknown>>> = {};
  for (const table of await tenantTables(stack)) {
    out[table] = (await sql<Record<string, unknown>>`select * from ${sql.table(table)} where tenant_id = ${tenantId}`.execute(db)).rows;
  }
  out.tenants = (await sql<Record<string, unknown>>`select * from tenants where id = ${tenantId}`.execute(db)).rows;
  out.admin_sessions = (await sql<Record<string, unknown>>`select s.* from admin_sessions s join api_keys k on k.id = s.api_key_id where k.tenant_id = ${tenantId}`.execute(db)).rows;
  return out;
}

/** A comparable snapshot: each table's rows as sorted JSON lines. */
async function snapshot(stack: Stack, tenantId: string): Promise<Record<string, string[]>> {
  const rows = await tenantRows(stack, tenantId);
  return Object.fromEntries(Object.entries(rows).map(([t, rs]) => [t, rs.map((r) => JSON.stringify(r)).sort()]));
}

/** Tenant A's markers: the identifying column values of all its rows, minus names B may share. */
async function collectMarkers(stack: Stack, tenantId: string, shareable: Set<string>, extra: Marker[]): Promise<Marker[]> {
  const found = new Map<string, string>();
  const add = (value: unknown, source: string) => {
    if (Array.isArray(value)) return value.forEach((v) => add(v, source));
    if (typeof value !== 'string' || value.length < 8) return;
    const v = value.toLowerCase();
    if (shareable.has(v) || found.has(v)) return;
    found.set(v, source);
  };
  // Owning columns first, so a marker is named after the row it identifies (wallets.address, not approvals.wallet_id).
  const owning = new Set(['id', 'address', 'tx_hash', 'label', 'key_prefix']);
  const tables = Object.entries(await tenantRows(stack, tenantId));
  for (const pass of [true, false]) {
    for (const [table, rows] of tables) {
      for (const row of rows) for (const [col, value] of Object.entries(row)) if (MARKER_COLUMNS.has(col) && owning.has(col) === pass) add(value, `${table}.${col}`);
    }
  }
  for (const m of extra) add(m.value, m.source);
  return [...found].map(([value, source]) => ({ value, source }));
}

/** The markers in `output` that the request did not carry itself (sources only: values may be secrets). */
function leaksIn(markers: Marker[], output: string, request: string): string[] {
  const out = output.toLowerCase();
  const req = request.toLowerCase();
  return markers.filter((m) => out.includes(m.value) && !req.includes(m.value)).map((m) => m.source);
}

/** Replaces every id of `ids` in a JSON-able value by the matching id of `other`. */
function swapIds<T>(value: T, ids: Ids, other: Ids): T {
  let text = JSON.stringify(value);
  for (const k of Object.keys(ids) as Array<keyof Ids>) text = text.split(ids[k]).join(other[k]);
  return JSON.parse(text) as T;
}

/** Replaces every id of the given sets by a placeholder naming the field. */
function normalize(text: string, ...sets: Ids[]): string {
  let out = text;
  for (const ids of sets) for (const k of Object.keys(ids) as Array<keyof Ids>) out = out.split(ids[k]).join(`<${k}>`);
  return out;
}

/** Random look-alikes of a tenant's ids: the answer for them is what "does not exist" looks like. */
function ghostIds(): Ids {
  const hash = () => `0x${randomBytes(32).toString('hex')}`;
  return {
    tenantId: randomUUID(),
    agent: `ghost-${randomBytes(4).toString('hex')}`,
    walletId: randomUUID(),
    address: Wallet.createRandom().address,
    walletCursor: encodeCursor(new Date(), randomUUID()),
    txId: randomUUID(),
    txHash: hash(),
    txCursor: encodeCursor(new Date(), randomUUID()),
    runTxHash: hash(),
    runId: randomUUID(),
    strategyId: randomUUID(),
    label: `ghost-label-${randomBytes(4).toString('hex')}`,
    strategyCursor: encodeCursor(new Date(), randomUUID()),
    approvalId: randomUUID(),
    keyId: randomUUID(),
    keyPrefix: `vp_${randomBytes(4).toString('hex')}`,
    revokedKeyId: randomUUID(),
  };
}

// ---------------------------------------------------------------------------------------------
// Calling

interface ToolAnswer {
  isError: boolean;
  code: string | null;
  message: string;
  /** Everything the caller got back, as text. */
  raw: string;
}

async function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<ToolAnswer> {
  let result: CallToolResult;
  try {
    result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  } catch (err) {
    // Protocol-level failures (e.g. output schema validation) reach the caller as this text.
    const message = err instanceof Error ? err.message : String(err);
    return { isError: true, code: 'PROTOCOL', message, raw: message };
  }
  const meta = result._meta?.['vaultpilot/error'] as { code: string; message: string } | undefined;
  const text = textOf(result);
  return {
    isError: result.isError === true,
    code: result.isError ? (meta?.code ?? text.split(':')[0] ?? null) : null,
    message: meta?.message ?? text,
    raw: JSON.stringify(result),
  };
}

interface RouteAnswer {
  status: number;
  text: string;
  json: unknown;
  /** The request as text (path, query and body), for the echo rule. */
  request: string;
}

function routeUrl(base: string, route: string, c: RouteCase): string {
  const path = route.replace(/\{(\w+)\}/g, (_, p: string) => {
    const v = c.params?.[p];
    if (v === undefined) throw new Error(`${route}: no value for path parameter ${p}`);
    return encodeURIComponent(v);
  });
  const query = Object.entries(c.query ?? {}).filter((e): e is [string, string] => e[1] !== undefined);
  const qs = query.length ? `?${new URLSearchParams(query).toString()}` : '';
  return `${base}${path}${qs}`;
}

async function callRoute(base: string, key: string, method: string, route: string, c: RouteCase): Promise<RouteAnswer> {
  const url = routeUrl(base, route, c);
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (c.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, ...(c.body !== undefined ? { body: JSON.stringify(c.body) } : {}) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // CSV, JSONL, empty bodies
  }
  return { status: res.status, text, json, request: `${url} ${JSON.stringify(c.body ?? null)}` };
}

/** Parses RFC 4180 CSV with a header row into records (quoted cells, doubled quotes, CRLF). */
function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(cell), (cell = '');
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell), rows.push(row), (row = []), (cell = '');
    } else cell += ch;
  }
  if (cell !== '' || row.length) row.push(cell), rows.push(row);
  const [header, ...body] = rows;
  return body.filter((r) => r.some((c) => c !== '')).map((r) => Object.fromEntries((header ?? []).map((h, i) => [h, r[i] ?? ''])));
}

/** The audit events in a response, by the case's `events` mode. */
function eventsOf(mode: string, r: RouteAnswer): Array<Record<string, unknown>> {
  if (mode === 'jsonl') return r.text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  if (mode === 'csv') return parseCsv(r.text);
  return ((r.json as Record<string, unknown> | null)?.[mode] ?? []) as Array<Record<string, unknown>>;
}

/** `METHOD /path/{param}` of every route under /api the app's router knows. */
function routerRoutes(stack: Stack): string[] {
  const { app } = buildApp(stack.server.ctx);
  const out = new Set<string>();
  for (const r of app.routes) {
    if (r.method === 'ALL' || !r.path.startsWith('/api')) continue;
    const path = r.path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}').replace(/\/+$/, '');
    out.add(`${r.method} ${path}`);
  }
  return [...out].sort();
}

/** `METHOD /path/{param}` of every operation in the OpenAPI document. */
function openApiRoutes(doc: { paths: Record<string, Record<string, unknown>> }): string[] {
  const methods = ['get', 'post', 'put', 'patch', 'delete'];
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).filter((m) => methods.includes(m)).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

// ---------------------------------------------------------------------------------------------

describe('tenant isolation: tenant B with tenant A\'s ids', () => {
  const EXPORT_CODE = `export-${randomBytes(8).toString('hex')}`;
  const sharedAgent = `shared-${randomBytes(3).toString('hex')}`;
  const POOL = 16;
  const poolAgents = Array.from({ length: POOL }, (_, i) => `alpha-pool-${i}-${randomBytes(3).toString('hex')}`);
  const poolLabels = Array.from({ length: POOL }, (_, i) => `alpha-pool-label-${i}-${randomBytes(3).toString('hex')}`);
  let stack: Stack;
  let aClient: Client;
  let bKey: string;
  let bPrincipal: Principal;
  let aIds: Ids;
  let ghost: Ids;
  let markers: Marker[];
  let chainId: number;
  let aTools: Tool[];
  let bTools: Tool[];
  let aAuditIds: Set<string>;
  let aAddresses: string[];
  let before_: { rows: Record<string, string[]>; chain: Array<{ address: string; balance: string; nonce: number; pending: number }>; maxAuditId: string; tenants: string[] };
  let revokedKey: string;
  let bShared: { id: string; address: string };
  const controlFailures: string[] = [];
  let controlsRan = 0;
  /** Everything B sent (requests), for the audit rows, which may record what B sent elsewhere than in their request. */
  const bSent: string[] = [];
  const ctx = (): CaseCtx => ({
    a: aIds,
    shared: sharedAgent,
    to: freshAddress,
    fresh: {
      agent: () => poolAgents.shift() ?? assert.fail('the pool of A\'s agent ids is used up: raise POOL'),
      label: () => poolLabels.shift() ?? assert.fail('the pool of A\'s strategy labels is used up: raise POOL'),
    },
    chainId,
    exportCode: EXPORT_CODE,
    bKey,
  });

  async function chainState(addresses: string[]) {
    const provider = chainProvider();
    try {
      return await Promise.all(
        addresses.map(async (address) => ({
          address,
          balance: (await provider.getBalance(address)).toString(),
          nonce: await provider.getTransactionCount(address, 'latest'),
          pending: await provider.getTransactionCount(address, 'pending'),
        })),
      );
    } finally {
      provider.destroy();
    }
  }

  /** Every tenant row, as JSON lines (B's refused POST /api/tenants must not add one). */
  async function tenantList(): Promise<string[]> {
    return (await stack.server.ctx.db.selectFrom('tenants').selectAll().orderBy('id').execute()).map((r) => JSON.stringify(r));
  }

  async function fund(address: string, eth: string): Promise<void> {
    const provider = chainProvider();
    await provider.send('anvil_setBalance', [address, toBeHex(parseEther(eth))]);
    provider.destroy();
  }

  before(async () => {
    stack = await startStack({ worker: false, env: { ALLOW_KEY_EXPORT: '1', EXPORT_CODE } });
    const db = stack.server.ctx.db;
    chainId = stack.server.ctx.chain.chainId;
    const aPrincipal = (await authenticateApiKey(db, stack.adminKey))!;
    // A second owner of tenant A approves A's key exports (four eyes).
    const approverKey = generateApiKey();
    await db.insertInto('api_keys').values({ tenant_id: aPrincipal.tenantId, name: 'alpha second owner', role: 'owner', key_prefix: approverKey.prefix, key_hash: approverKey.hash }).execute();
    const approver = (await authenticateApiKey(db, approverKey.key))!;
    /** Asks for an export as A, has A's second owner approve it, and collects it. */
    const exported = async <T>(tool: string, args: Record<string, unknown>): Promise<T> => {
      const asked = await callOk<{ approval_id: string }>(aClient, tool, args);
      await decideApproval(stack.server.ctx, approver, asked.approval_id, 'approve');
      return callOk<T>(aClient, tool, { ...args, approval_id: asked.approval_id });
    };

    // Tenant B and its owner key, straight into the database.
    const tenantB = await db.insertInto('tenants').values({ name: `isolation-b-${randomBytes(3).toString('hex')}` }).returning('id').executeTakeFirstOrThrow();
    const bk = generateApiKey();
    await db.insertInto('api_keys').values({ tenant_id: tenantB.id, name: 'isolation B owner', role: 'owner', key_prefix: bk.prefix, key_hash: bk.hash }).execute();
    bKey = bk.key;
    bPrincipal = (await authenticateApiKey(db, bKey))!;
    assert.notEqual(bPrincipal.tenantId, aPrincipal.tenantId);

    // Tenant A: wallets (one only A has, one whose agent id B has too), sends, a strategy that ran once and was stopped.
    aClient = await connectMcp(stack.url, stack.adminKey, 'streamable');
    const alpha = `alpha-${randomBytes(3).toString('hex')}`;
    const aAlpha = (await callOk<{ wallet: { id: string; address: string; created_at: string } }>(aClient, 'spin_up_wallet', { agent_id: alpha })).wallet;
    const aShared = (await callOk<{ wallet: { id: string; address: string } }>(aClient, 'spin_up_wallet', { agent_id: sharedAgent })).wallet;
    await fund(aAlpha.address, '10');
    await fund(aShared.address, '10');
    const tx = (await callOk<{ transaction: { id: string; tx_hash: string; created_at: string } }>(aClient, 'execute_transfer', { agent_id: alpha, to_address: freshAddress(), amount_eth: AMOUNT })).transaction;
    await callOk(aClient, 'execute_transfer', { agent_id: sharedAgent, to_address: freshAddress(), amount_eth: AMOUNT });
    const label = `alpha-dca-${randomBytes(3).toString('hex')}`;
    const strategy = (await callOk<{ strategy: { id: string; created_at: string } }>(aClient, 'create_strategy_dca', { label, agent_id: alpha, to_address: freshAddress(), amount_eth: AMOUNT, interval_seconds: 3600 })).strategy;
    const tick = await callOk<{ outcome: string; run: { id: string; transactions: Array<{ tx_hash: string }> } }>(aClient, 'tick_strategy', { label });
    assert.equal(tick.outcome, 'sent', 'A\'s strategy ran once');
    await callOk(aClient, 'stop_strategy', { label });
    const privateKeys: Marker[] = [];
    for (const agent of [alpha, sharedAgent]) {
      const k = await exported<{ private_key: string }>('export_wallet_private_key', { agent_id: agent, confirmation_code: EXPORT_CODE });
      privateKeys.push({ value: k.private_key, source: `private key of A's ${agent === alpha ? 'alpha' : 'shared'} wallet` });
    }
    // A's names B will take over, and an audited REST write.
    for (const agent of poolAgents) await createWallet(stack.server.ctx, aPrincipal, agent);
    for (const l of poolLabels) await createStrategy(stack.server.ctx, aPrincipal, { kind: 'dca', label: l, agent_id: alpha, params: { to_address: freshAddress(), amount_eth: AMOUNT, interval_seconds: 3600 }, start: false });
    const keystore = (body: Record<string, unknown>) =>
      fetch(`${stack.url}/api/wallets/${aAlpha.id}/keystore`, { method: 'POST', headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ passphrase: 'alpha passphrase', ...body }) });
    const asked = await keystore({});
    assert.equal(asked.status, 202);
    const { approval_id } = (await asked.json()) as { approval_id: string };
    await decideApproval(stack.server.ctx, approver, approval_id, 'approve');
    const ks = await keystore({ approval_id });
    assert.equal(ks.status, 200);
    await ks.text();

    // A's approval, wallet policy and extra keys (active viewer, revoked), straight into the database.
    const approval = await db
      .insertInto('approvals')
      .values({
        tenant_id: aPrincipal.tenantId, wallet_id: aAlpha.id, agent_id: alpha, to_address: freshAddress(), value_wei: parseEther('0.5').toString(),
        reason: `alpha-approval-reason-${randomBytes(4).toString('hex')}`, rule: 'approval_threshold', rule_message: 'above the approval threshold', source: 'mcp',
        requested_by_key_id: aPrincipal.keyId, requested_by: aPrincipal.keyPrefix, expires_at: new Date(Date.now() + 86_400_000),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('wallet_policies')
      .values({ wallet_id: aAlpha.id, tenant_id: aPrincipal.tenantId, policy: JSON.stringify({ max_tx_eth: '5', denied_destinations: [{ address: freshAddress(), label: `alpha-denied-${randomBytes(4).toString('hex')}` }] }), updated_by: aPrincipal.keyPrefix })
      .execute();
    const viewer = generateApiKey();
    const viewerRow = await db.insertInto('api_keys').values({ tenant_id: aPrincipal.tenantId, name: 'alpha viewer', role: 'viewer', key_prefix: viewer.prefix, key_hash: viewer.hash, created_by_key_id: aPrincipal.keyId }).returning('id').executeTakeFirstOrThrow();
    const revoked = generateApiKey();
    const revokedRow = await db.insertInto('api_keys').values({ tenant_id: aPrincipal.tenantId, name: 'alpha revoked', role: 'agent', key_prefix: revoked.prefix, key_hash: revoked.hash, revoked_at: new Date() }).returning('id').executeTakeFirstOrThrow();
    revokedKey = revoked.key;

    const walletRow = await db.selectFrom('wallets').selectAll().where('tenant_id', '=', aPrincipal.tenantId).orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirstOrThrow();
    const strategyRow = await db.selectFrom('strategies').selectAll().where('tenant_id', '=', aPrincipal.tenantId).orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirstOrThrow();
    const txRow = await db.selectFrom('transactions').selectAll().where('tenant_id', '=', aPrincipal.tenantId).orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirstOrThrow();
    aIds = {
      tenantId: aPrincipal.tenantId,
      agent: alpha,
      walletId: aAlpha.id,
      address: aAlpha.address,
      walletCursor: encodeCursor(walletRow.created_at, walletRow.id),
      txId: tx.id,
      txHash: tx.tx_hash,
      txCursor: encodeCursor(txRow.created_at, txRow.id),
      runTxHash: tick.run.transactions[0]!.tx_hash,
      runId: tick.run.id,
      strategyId: strategy.id,
      label,
      strategyCursor: encodeCursor(strategyRow.created_at, strategyRow.id),
      approvalId: approval.id,
      keyId: viewerRow.id,
      keyPrefix: viewer.prefix,
      revokedKeyId: revokedRow.id,
    };
    ghost = ghostIds();

    // Tenant B: its own wallets (one under the shared agent id), a send, a stopped strategy.
    const bClient = await connectMcp(stack.url, bKey, 'streamable');
    bShared = (await callOk<{ wallet: { id: string; address: string } }>(bClient, 'spin_up_wallet', { agent_id: sharedAgent })).wallet;
    const bravo = `bravo-${randomBytes(3).toString('hex')}`;
    const bBravo = (await callOk<{ wallet: { id: string; address: string } }>(bClient, 'spin_up_wallet', { agent_id: bravo })).wallet;
    assert.notEqual(bShared.address, aShared.address);
    assert.notEqual(bShared.id, aShared.id);
    await fund(bShared.address, '10');
    await fund(bBravo.address, '10');
    await callOk(bClient, 'execute_transfer', { agent_id: bravo, to_address: freshAddress(), amount_eth: AMOUNT });
    await callOk(bClient, 'create_strategy_dca', { label: `bravo-dca-${randomBytes(3).toString('hex')}`, agent_id: bravo, to_address: freshAddress(), amount_eth: AMOUNT, interval_seconds: 3600, start: false });
    bTools = (await bClient.listTools()).tools;
    await bClient.close();
    aTools = (await aClient.listTools()).tools;

    // What B must never see: every identifying value of A's rows, A's keys and private keys.
    const shareable = new Set([sharedAgent, ...poolAgents, ...poolLabels].map((s) => s.toLowerCase()));
    markers = await collectMarkers(stack, aPrincipal.tenantId, shareable, [
      { value: aPrincipal.tenantId, source: 'tenants.id' },
      { value: stack.adminKey, source: 'A\'s admin key' },
      { value: keyPrefixOf(stack.adminKey), source: 'A\'s admin key prefix' },
      { value: viewer.key, source: 'A\'s viewer key' },
      { value: revoked.key, source: 'A\'s revoked key' },
      ...privateKeys,
    ]);
    assert.ok(markers.some((m) => m.value === aAlpha.address.toLowerCase()), 'A\'s addresses are markers');
    assert.ok(!markers.some((m) => m.value === sharedAgent.toLowerCase()), 'the shared agent id is not');

    // Control: A's own ids are real, A's read-only tools and GET routes find them.
    const x = { ...ctx(), fresh: { agent: () => `control-${randomUUID()}`, label: () => `control-${randomUUID()}` } };
    for (const tool of aTools.filter((t) => t.annotations?.readOnlyHint === true)) {
      for (const c of (await TOOL_CASES[tool.name]?.(x)) ?? []) {
        if (c.expect !== 'not_found' || c.control === false) continue;
        controlsRan++;
        const r = await callTool(aClient, tool.name, c.args);
        if (r.isError) controlFailures.push(`A's ${tool.name}(${JSON.stringify(c.args)}) failed: ${r.code}: ${r.message}`);
      }
    }
    for (const [route, cases] of Object.entries(ROUTE_CASES)) {
      const [method, path] = route.split(' ') as [string, string];
      if (method !== 'GET') continue;
      for (const c of cases(x)) {
        if (c.expect !== 'not_found') continue;
        const r = await callRoute(stack.url, stack.adminKey, method, path, c);
        if (r.status === 404 && (r.json as { error?: { code?: string } } | null)?.error?.code === 'NOT_FOUND') continue; // route not there (yet)
        controlsRan++;
        if (r.status !== 200) controlFailures.push(`A's ${route} ${JSON.stringify(c.params)} answered ${r.status}: ${r.text.slice(0, 300)}`);
      }
    }
    await aClient.close();

    // The "before" picture: A's rows, A's wallets on the chain, the last audit row.
    aAuditIds = new Set((await db.selectFrom('audit_events').select('id').where('tenant_id', '=', aPrincipal.tenantId).execute()).map((r) => r.id));
    aAddresses = (await db.selectFrom('wallets').select('address').where('tenant_id', '=', aPrincipal.tenantId).execute()).map((r) => r.address);
    const max = await db.selectFrom('audit_events').select((eb) => eb.fn.max('id').as('max')).executeTakeFirstOrThrow();
    before_ = { rows: await snapshot(stack, aPrincipal.tenantId), chain: await chainState(aAddresses), maxAuditId: String(max.max ?? '0'), tenants: await tenantList() };
  });
  after(async () => {
    await stack?.close();
  });

  test('control: tenant A\'s ids are real (A\'s read-only tools and GET routes find them)', (t) => {
    t.diagnostic(`${controlsRan} control calls`);
    assert.ok(controlsRan >= 10, `only ${controlsRan} control calls ran`);
    assert.deepEqual(controlFailures, []);
  });

  test('every MCP tool is in the isolation table', (t) => {
    const names = bTools.map((x) => x.name).sort();
    assert.deepEqual(names, aTools.map((x) => x.name).sort(), 'both tenants\' owners see the same tools');
    const missing = names.filter((n) => !(n in TOOL_CASES));
    assert.deepEqual(missing, [], `add these tools to TOOL_CASES in test/isolation.test.ts: ${missing.join(', ')}`);
    const absent = Object.keys(TOOL_CASES).filter((n) => !names.includes(n));
    if (absent.length) t.diagnostic(`table entries for tools this server does not offer (skipped): ${absent.join(', ')}`);
  });

  test('every REST route (OpenAPI document and router) is in the isolation table', async (t) => {
    const res = await fetch(`${stack.url}/api/openapi.json`);
    assert.equal(res.status, 200);
    const documented = openApiRoutes((await res.json()) as { paths: Record<string, Record<string, unknown>> });
    const routed = routerRoutes(stack);
    assert.ok(documented.length > 10 && routed.length > 10, 'routes were found');
    const all = [...new Set([...documented, ...routed])].sort();
    const missing = all.filter((r) => !(r in ROUTE_CASES));
    assert.deepEqual(missing, [], `add these routes to ROUTE_CASES in test/isolation.test.ts: ${missing.join(', ')}`);
    const undocumented = routed.filter((r) => !documented.includes(r) && r !== 'GET /api/openapi.json');
    if (undocumented.length) t.diagnostic(`routes the router has but the OpenAPI document lacks: ${undocumented.join(', ')}`);
    const absent = Object.keys(ROUTE_CASES).filter((r) => !all.includes(r));
    if (absent.length) t.diagnostic(`table entries for routes this server does not have (skipped): ${absent.join(', ')}`);
  });

  for (const transport of ['streamable', 'sse'] as const) {
    test(`MCP over ${transport}: every tool with A's ids: not found or B's own, nothing of A's`, async (t) => {
      const client = await connectMcp(stack.url, bKey, transport);
      const failures: string[] = [];
      let ran = 0;
      try {
        const tools = (await client.listTools()).tools.map((x) => x.name).sort();
        for (const name of tools) {
          const cases = await TOOL_CASES[name]?.(ctx());
          if (!cases) continue; // the coverage test names it
          for (const c of cases) {
            ran++;
            const what = `${name}(${JSON.stringify(c.args).slice(0, 200)})`;
            bSent.push(JSON.stringify(c.args));
            const r = await callTool(client, name, c.args);
            const leaked = leaksIn(markers, r.raw, JSON.stringify(c.args));
            if (leaked.length) failures.push(`${what} returned tenant A's ${leaked.join(', ')}`);
            if (c.expect === 'ok' && r.isError) failures.push(`${what} should succeed on B's own rows, got ${r.code}: ${r.message}`);
            if (c.expect === 'not_found') {
              if (!r.isError || !NOT_FOUND_CODES.includes(r.code ?? '')) {
                failures.push(`${what} should be not found, got ${r.isError ? `${r.code}: ${r.message}` : `a result: ${r.raw.slice(0, 300)}`}`);
                continue;
              }
              // The same answer as for ids no tenant has: A's ids are not even confirmed to exist.
              const g = await callTool(client, name, swapIds(c.args, aIds, ghost));
              const mine = normalize(`${r.code}: ${r.message}`, aIds, ghost);
              const theirs = normalize(`${g.code}: ${g.message}`, aIds, ghost);
              if (mine !== theirs) failures.push(`${what} answers differently for A's ids than for ids that exist nowhere: "${mine}" vs "${theirs}"`);
            }
          }
        }
      } finally {
        await client.close();
      }
      t.diagnostic(`${ran} cases`);
      assert.ok(ran > 50, `ran ${ran} cases`);
      assert.deepEqual(failures, []);
    });
  }

  test('REST: every route with A\'s ids and B\'s key: 404 or B\'s own, nothing of A\'s', async (t) => {
    const res = await fetch(`${stack.url}/api/openapi.json`);
    const routes = new Set([...openApiRoutes((await res.json()) as { paths: Record<string, Record<string, unknown>> }), ...routerRoutes(stack)]);
    const failures: string[] = [];
    let ran = 0;
    for (const route of [...routes].sort()) {
      const [method, path] = route.split(' ') as [string, string];
      for (const c of ROUTE_CASES[route]?.(ctx()) ?? []) {
        ran++;
        const what = `${route} ${JSON.stringify({ params: c.params, query: c.query })}`;
        const r = await callRoute(stack.url, bKey, method, path, c);
        bSent.push(r.request);
        if (c.events) {
          // Each event may echo its own request (B's calls carried A's ids); none may be A's.
          const events = eventsOf(c.events, r);
          const unfiltered = Object.keys(c.query ?? {}).every((k) => k === 'limit' || k === 'format');
          if (unfiltered && r.status === 200 && events.length === 0) failures.push(`${what}: no events found in the response (B has some)`);
          for (const e of events) {
            if (aAuditIds.has(String(e.id))) failures.push(`${what} lists tenant A's event ${String(e.id)} (${String(e.action)})`);
            const { request, ...rest } = e;
            const leaked = leaksIn(markers, JSON.stringify(rest), `${bSent.join('\n')} ${JSON.stringify(request ?? null)}`);
            if (leaked.length) failures.push(`${what}: event ${String(e.id)} (${String(e.action)}) carries tenant A's ${leaked.join(', ')}`);
          }
        } else {
          const leaked = leaksIn(markers, r.text, r.request);
          if (leaked.length) failures.push(`${what} returned tenant A's ${leaked.join(', ')}`);
        }
        if (c.expect === 'ok' && (r.status < 200 || r.status > 299)) failures.push(`${what} should succeed, got ${r.status}: ${r.text.slice(0, 300)}`);
        if (c.expect === 'forbidden') {
          const err = (r.json as { error?: { code?: string; details?: { rule?: string } } } | null)?.error;
          if (r.status !== 403 || err?.code !== 'FORBIDDEN' || err.details?.rule !== 'role') failures.push(`${what} should be 403 FORBIDDEN (rule role), got ${r.status}: ${r.text.slice(0, 300)}`);
        }
        if (c.expect === 'not_found') {
          const code = (r.json as { error?: { code?: string } } | null)?.error?.code ?? '';
          if (r.status !== 404 || !NOT_FOUND_CODES.includes(code)) {
            failures.push(`${what} should be 404, got ${r.status}: ${r.text.slice(0, 300)}`);
            continue;
          }
          const g = await callRoute(stack.url, bKey, method, path, swapIds(c, aIds, ghost));
          const mine = normalize(`${r.status} ${r.text}`, aIds, ghost);
          const theirs = normalize(`${g.status} ${g.text}`, aIds, ghost);
          if (mine !== theirs) failures.push(`${what} answers differently for A's ids than for ids that exist nowhere: "${mine}" vs "${theirs}"`);
        }
      }
    }
    // Public endpoints outside /api carry nothing of a tenant's either.
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const r = await fetch(`${stack.url}${path}`);
      const leaked = leaksIn(markers, await r.text(), path);
      if (leaked.length) failures.push(`GET ${path} returned tenant A's ${leaked.join(', ')}`);
    }
    t.diagnostic(`${ran} cases`);
    assert.ok(ran > 20, `ran ${ran} cases`);
    assert.deepEqual(failures, []);
  });

  test('the agent id both tenants use: every answer B gets is about B\'s wallet (address, balance, spend)', async () => {
    const client = await connectMcp(stack.url, bKey, 'streamable');
    const provider = chainProvider();
    try {
      const balance = await callOk<{ address: string; balance_wei: string }>(client, 'query_balance', { agent_id: sharedAgent });
      assert.equal(balance.address, bShared.address);
      assert.equal(balance.balance_wei, (await provider.getBalance(bShared.address)).toString());
      const sim = await callOk<{ from_address: string; balance: { wei: string } }>(client, 'simulate_transfer', { agent_id: sharedAgent, to_address: freshAddress(), amount_eth: AMOUNT });
      assert.equal(sim.from_address, bShared.address);
      assert.equal(sim.balance.wei, balance.balance_wei);
      assert.equal((await callOk<{ address: string }>(client, 'sign_message', { agent_id: sharedAgent, message: 'whose?' })).address, bShared.address);
      const strategies = await callOk<{ strategies: Array<{ wallet_id: string }> }>(client, 'list_strategies', { agent_id: sharedAgent });
      assert.ok(strategies.strategies.length > 0);
      assert.deepEqual([...new Set(strategies.strategies.map((x) => x.wallet_id))], [bShared.id]);
      const names = (await client.listTools()).tools.map((x) => x.name);
      if (names.includes('get_policy')) {
        const policy = await callOk<{ wallet_id: string; spent: { last_7d: { wei: string } } }>(client, 'get_policy', { agent_id: sharedAgent });
        assert.equal(policy.wallet_id, bShared.id);
        const sent = await stack.server.ctx.db.selectFrom('transactions').select('value_wei').where('wallet_id', '=', bShared.id).where('status', 'not in', ['failed', 'replaced', 'cancelled', 'reverted']).execute();
        assert.equal(policy.spent.last_7d.wei, sent.reduce((a, r) => a + BigInt(r.value_wei), 0n).toString(), 'B\'s spend counts B\'s sends only');
      }
    } finally {
      provider.destroy();
      await client.close();
    }
  });

  test('nothing of A\'s changed: every row with A\'s tenant id, and A\'s wallets on the chain', async () => {
    const now = await snapshot(stack, aIds.tenantId);
    assert.deepEqual(Object.keys(now).sort(), Object.keys(before_.rows).sort());
    for (const table of Object.keys(before_.rows)) assert.deepEqual(now[table], before_.rows[table], `tenant A's ${table} rows changed`);
    assert.deepEqual(await chainState(aAddresses), before_.chain, 'A\'s balances and nonces on the chain changed');
    assert.deepEqual(await tenantList(), before_.tenants, 'B\'s calls created or changed a tenant');
  });

  test('audit: every row B\'s calls wrote carries B\'s tenant, and B\'s event list shows none of A\'s events', async () => {
    const db = stack.server.ctx.db;
    const rows = await db.selectFrom('audit_events').selectAll().where('id', '>', before_.maxAuditId).orderBy('id').execute();
    assert.ok(rows.length > 100, `B's calls were audited (${rows.length} rows)`);
    const wrong = rows.filter((r) => r.tenant_id !== bPrincipal.tenantId).map((r) => `${r.id} ${r.action} tenant=${r.tenant_id}`);
    assert.deepEqual(wrong, [], 'audit rows written during B\'s calls with another tenant id');
    const sent = bSent.join('\n');
    const leaky = rows
      .map((r) => ({ r, leaked: leaksIn(markers, JSON.stringify({ ...r, request: null }), `${sent} ${JSON.stringify(r.request)}`) }))
      .filter((x) => x.leaked.length)
      .map((x) => `${x.r.id} ${x.r.action}: ${x.leaked.join(', ')}`);
    assert.deepEqual(leaky, [], 'B\'s audit rows record tenant A\'s data B did not send');

    // B's whole event log, every page.
    const seen: Array<{ id: string; action: string }> = [];
    let cursor: string | null = null;
    do {
      const qs: string = cursor ? `&cursor=${cursor}` : '';
      const res = await fetch(`${stack.url}/api/events?limit=200${qs}`, { headers: { authorization: `Bearer ${bKey}` } });
      assert.equal(res.status, 200);
      const page = (await res.json()) as { events: Array<{ id: string; action: string }>; next_cursor: string | null };
      seen.push(...page.events);
      cursor = page.next_cursor;
    } while (cursor);
    assert.ok(seen.length >= rows.length);
    assert.deepEqual(seen.filter((e) => aAuditIds.has(String(e.id))), [], 'B\'s event log lists A\'s events');
  });

  // Known leak, reported (fix in server/auth.ts or the unscoped-rows rule of /api/events): the
  // refusal of a revoked or expired key is recorded with no tenant, and every tenant's owners and
  // admins see the rows of no tenant, so B sees the visible id of A's key (and the caller's IP).
  test('refused authentications with A\'s (revoked) key are not shown in B\'s event log', async () => {
    for (const path of ['/api/wallets', '/mcp']) {
      const res = await fetch(`${stack.url}${path}`, { method: path === '/mcp' ? 'POST' : 'GET', headers: { authorization: `Bearer ${revokedKey}`, 'content-type': 'application/json' }, body: path === '/mcp' ? '{}' : null });
      assert.equal(res.status, 401);
      await res.text();
    }
    const signIn = await fetch(`${stack.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: revokedKey }) });
    assert.equal(signIn.status, 401);
    await signIn.text();
    // Refusal rows are aggregated per source and written when their window ends: end it now.
    await refusalAuditor(stack.server.ctx).flush();
    const leaked: string[] = [];
    for (const c of [{ query: { kind: 'auth', limit: '200' }, expect: 'ok', events: 'events' }, { query: { format: 'jsonl' }, expect: 'ok', events: 'jsonl' }] as const) {
      const path = c.events === 'jsonl' ? '/api/events/export' : '/api/events';
      const r = await callRoute(stack.url, bKey, 'GET', path, c);
      assert.equal(r.status, 200);
      for (const e of eventsOf(c.events, r).filter((x) => x.kind === 'auth')) {
        leaked.push(...leaksIn(markers, JSON.stringify(e), '').map((s) => `${path}: ${String(e.id)} ${String(e.action)} carries ${s}`));
      }
    }
    assert.deepEqual(leaked, [], 'B sees the refusals of A\'s key (its visible id) in its event log');
  });
});
