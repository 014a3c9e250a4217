/**
 * Importing an AgentVault MCP deployment: its wallets (Fernet tokens of the raw 32 private-key
 * bytes) and its recurring strategies. The records arrive already read from AgentVault's JSON
 * stores or SQL database (`agentvault-sources.ts`); this module checks each one and stores it.
 *
 * - A wallet's token is opened with the operator's AgentVault Fernet key(s) (MultiFernet
 *   semantics: any key may open it), the key must derive the recorded address, and it is then
 *   wrapped again by the ACTIVE key provider (Fernet under the service's own keys, AWS KMS or
 *   Vault) through `importWallet`: the AgentVault token itself is never stored.
 * - A strategy is stored `stopped`, whatever it was in AgentVault: an import never starts moving
 *   money. Float amounts become wei as decimal strings.
 * - Every record is its own write, so one bad record never half-writes another, and a second run
 *   skips what the first stored (`already_imported`).
 *
 * No key material (Fernet keys, tokens, private keys) reaches the report.
 */
import { getAddress, isAddress, parseUnits } from 'ethers';
import { fernetDecrypt, FernetKeyProvider } from '../../keyproviders/fernet.ts';
import { KeyProviderError } from '../../keyproviders/index.ts';
import { ConflictError, UpstreamError, ValidationError, VaultPilotError } from '../errors.ts';
import { addressOfKey, findWallet, importWallet, parseAgentId, type WalletStore } from '../wallets/service.ts';

/**
 * One AgentVault wallet as read from a store. Values are as found (only shapes the readers could
 * not tell apart are normalized): numbers arrive as their decimal text, the Fernet token as the
 * ASCII text Python's `Fernet.encrypt` returned.
 */
export interface AgentvaultWalletRecord {
  /** Where it came from, for the report ("wallet store", "sqlite", "postgres"); no secrets. */
  source: string;
  /** The store's key / `wallets.agent_id`. */
  agent_id: unknown;
  /** The recorded 0x address. */
  address: unknown;
  /** The Fernet token (text), or `undefined` when the record has none or it is not decodable. */
  token: string | undefined;
  /** `chain_id` (integer, as number or decimal text). */
  chain_id: unknown;
  /** `last_nonce`: the next nonce AgentVault would use on its chain, or null. */
  last_nonce: unknown;
}

/**
 * One AgentVault strategy as read from a store. Float columns (`amount_eth`, `daily_cap_eth`,
 * `max_base_fee_gwei`, `spent_today_eth`) arrive as their decimal text (JSON source text, or the
 * shortest round-trip form of the stored float), possibly in exponent form ("1e-07").
 */
export interface AgentvaultStrategyRecord {
  source: string;
  /** The store's key / `strategies.label`. */
  label: unknown;
  agent_id: unknown;
  /** Missing in older JSON stores, which only knew DCA. */
  strategy_type: unknown;
  to_address: unknown;
  amount_eth: unknown;
  interval_seconds: unknown;
  enabled: unknown;
  max_base_fee_gwei: unknown;
  daily_cap_eth: unknown;
  next_run_at: unknown;
  last_run_at: unknown;
  last_tx_hash: unknown;
  spent_day: unknown;
  spent_today_eth: unknown;
}

/** Why a record was skipped or refused; stable strings scripts can branch on. */
export type ImportReason =
  /** Already stored here (same agent and address, or same strategy label): skipped. */
  | 'already_imported'
  /** A field is missing or of the wrong type (detail names it). */
  | 'invalid_record'
  | 'invalid_agent_id'
  /** Not a Fernet token (bad base64, version or length). */
  | 'invalid_token'
  /** None of the given Fernet keys opens the token. */
  | 'fernet_key_mismatch'
  /** The token opens but does not hold a 32-byte secp256k1 key. */
  | 'invalid_private_key'
  /** The key derives another address than the one recorded. */
  | 'address_mismatch'
  /** Recorded for another chain than the service's (pass `--any-chain` to import anyway). */
  | 'chain_mismatch'
  /** The agent id has another address here, or the address belongs to another agent. */
  | 'conflict'
  | 'key_provider_unavailable'
  | 'key_provider_denied'
  | 'invalid_label'
  /** The strategy's agent has no wallet in this tenant (not imported now or before). */
  | 'wallet_missing'
  | 'invalid_amount'
  | 'invalid_interval'
  | 'invalid_address'
  | 'unsupported_kind'
  /** Anything unexpected (a database error); the log has the error's name and message. */
  | 'internal_error';

/** One record's outcome. */
export interface ImportRow {
  kind: 'wallet' | 'strategy';
  /** The agent id (wallets) or the label (strategies), as text. */
  id: string;
  outcome: 'imported' | 'skipped' | 'refused';
  reason?: ImportReason;
  /** The wallet's address (the derived one once the key is open), or the strategy's wallet. */
  address?: string;
  /** A sentence for humans: the rule broken, both chain ids, both addresses. Never secrets. */
  detail?: string;
  /** Strategies: whether AgentVault had it enabled (it is stored stopped here). */
  enabled_in_agentvault?: boolean;
  /** Where the record came from ("wallet store", "sqlite", …). */
  source: string;
}

/** Imported / skipped / refused counts. */
export interface ImportCounts {
  imported: number;
  skipped: number;
  refused: number;
}

/** What an import did (or, with `dry_run`, would do). Holds no key material. */
export interface ImportReport {
  dry_run: boolean;
  /** The service's chain; wallets are recorded on it. */
  chain_id: number;
  /** The provider that wrapped (or would wrap) the imported keys. */
  key_provider: string;
  wallets: ImportCounts;
  strategies: ImportCounts;
  /** Labels of strategies imported stopped although AgentVault had them enabled. */
  enabled_in_agentvault: string[];
  rows: ImportRow[];
}

/** How to import. */
export interface AgentvaultImportOptions {
  /** AgentVault's Fernet key(s) (`ENCRYPT_KEY`); any of them may open a token. */
  fernetKeys: string[];
  /** Check everything (tokens opened, addresses derived, clashes looked up) but write nothing. */
  dryRun?: boolean;
  /** Import wallets recorded for another chain onto the service's chain (an EOA key works on any). */
  anyChain?: boolean;
  /** Told the name and message of unexpected errors (never key material). */
  onInternalError?: (record: string, err: unknown) => void;
}

/** Fernet token layout (Spec.md): version(1) ‖ timestamp(8) ‖ IV(16) ‖ ≥1 AES block ‖ HMAC(32). */
const TOKEN_HEADER = 25;
const TOKEN_HMAC = 32;
const TOKEN_RE = /^[A-Za-z0-9_-]+={0,2}$/;
const STRATEGY_KINDS = new Set(['dca']);
const LABEL_MAX = 255;

/**
 * Checks the AgentVault Fernet keys before anything is read with them.
 * @throws {KeyProviderError} `KEY_PROVIDER_UNAVAILABLE` when none is given or one is malformed; the
 *   message gives the key's position, never its value.
 */
export function checkFernetKeys(keys: readonly string[]): void {
  // The provider parses every key and reports a malformed one by position.
  new FernetKeyProvider(keys).close();
}

/** Whether `token` has a Fernet token's shape, so a decryption failure can only mean "wrong key". */
function looksLikeToken(token: string): boolean {
  if (token.length % 4 !== 0 || !TOKEN_RE.test(token)) return false;
  const data = Buffer.from(token, 'base64url');
  const body = data.length - TOKEN_HEADER - TOKEN_HMAC;
  return data[0] === 0x80 && body >= 16 && body % 16 === 0;
}

/**
 * Opens a token with the first key whose HMAC matches (Python `MultiFernet.decrypt`).
 * @returns the plaintext (the caller zeroes it), or `undefined` when no key opens it.
 */
function openToken(keys: readonly string[], token: string): Uint8Array | undefined {
  for (const key of keys) {
    try {
      return fernetDecrypt(key, token);
    } catch (err) {
      if (!(err instanceof KeyProviderError)) throw err;
    }
  }
  return undefined;
}

/**
 * A non-negative whole count (seconds, a nonce; never money) from a JSON integer or its decimal
 * text ("5", "5.0" as Python may print it), read digit by digit with `parseInt`.
 * @returns the integer, or `undefined` when `value` is not one.
 */
function integerOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const m = typeof value === 'string' ? /^\s*(\d+)(?:\.0*)?\s*$/.exec(value) : null;
  const n = m ? Number.parseInt(m[1]!, 10) : Number.NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

const PLAIN_DECIMAL_RE = /^(-?)(\d+)(?:\.(\d*))?$/;
const EXPONENT_DECIMAL_RE = /^(-?)(\d*)(?:\.(\d*))?[eE]([+-]?\d+)$/;

/**
 * Writes the decimal text of a number as a plain decimal without exponent or redundant zeros:
 * "0.001" → "0.001", "1e-07" → "0.0000001", "3600.0" → "3600", "-0" → "0".
 * @param value decimal text (or a JS number, printed in its shortest round-trip form first).
 * @returns the plain decimal (with "-" when negative), or `undefined` when it is not a finite decimal.
 */
export function plainDecimal(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'number') text = String(value);
  else if (typeof value === 'string') text = value.trim();
  else return undefined;
  let sign: string;
  let digits: string;
  let point: number;
  const plain = PLAIN_DECIMAL_RE.exec(text);
  const exp = plain ? undefined : EXPONENT_DECIMAL_RE.exec(text);
  if (plain) {
    sign = plain[1]!;
    digits = plain[2]! + (plain[3] ?? '');
    point = plain[2]!.length;
  } else if (exp && (exp[2] || exp[3]) && Math.abs(Number(exp[4])) <= 400) {
    sign = exp[1]!;
    digits = (exp[2] ?? '') + (exp[3] ?? '');
    point = (exp[2] ?? '').length + Number(exp[4]);
  } else {
    return undefined;
  }
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  const whole = digits.slice(0, point).replace(/^0+/, '') || '0';
  const fraction = digits.slice(point).replace(/0+$/, '');
  const out = fraction ? `${whole}.${fraction}` : whole;
  return out === '0' ? '0' : sign + out;
}

/** A record breaks a rule: the reason and a sentence naming the field (never a value that could be secret). */
class RecordRefusal extends Error {
  readonly reason: ImportReason;
  constructor(reason: ImportReason, detail: string) {
    super(detail);
    this.reason = reason;
  }
}

/**
 * Converts an AgentVault float amount to base units.
 * @param decimals 18 for ETH → wei, 9 for gwei → wei.
 * @param allowZero caps and counters may be zero; a send amount may not.
 * @returns the plain decimal text and the base-unit integer.
 * @throws {RecordRefusal} `invalid_amount` naming `field`: not a number, negative, zero, or finer than 1 wei.
 */
function amountOf(field: string, value: unknown, decimals: number, allowZero: boolean): { text: string; units: bigint } {
  const text = plainDecimal(value);
  if (text === undefined) throw new RecordRefusal('invalid_amount', `${field} is not a finite number`);
  if (text.startsWith('-')) throw new RecordRefusal('invalid_amount', `${field} is negative (${text})`);
  if ((text.split('.')[1] ?? '').length > decimals) {
    throw new RecordRefusal('invalid_amount', `${field} has more than ${decimals} decimals (finer than 1 wei)`);
  }
  const units = parseUnits(text, decimals);
  if (units === 0n && !allowZero) throw new RecordRefusal('invalid_amount', `${field} is zero`);
  return { text, units };
}

/** A text field or null; anything else is a malformed record. */
function optionalText(field: string, value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') return value;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
  throw new RecordRefusal('invalid_record', `${field} must be text or null`);
}

/** AgentVault's `enabled` (JSON boolean, SQLite 0/1, Postgres boolean). */
function booleanOf(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 'true';
}

/** The text of a record's id for the report (ids that are not strings are shown as JSON). */
function idText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
}

/** What this run stored or (dry run) would store, so later records see it. */
interface Planned {
  walletsByAgent: Map<string, string>;
  agentsByAddress: Map<string, string>;
  labels: Set<string>;
}

/** Maps an expected error thrown while checking or storing a record to its reason; `undefined` for anything else. */
function knownFailure(err: unknown): { reason: ImportReason; detail: string } | undefined {
  if (err instanceof RecordRefusal) return { reason: err.reason, detail: err.message };
  if (err instanceof UpstreamError && (err.code === 'KEY_PROVIDER_UNAVAILABLE' || err.code === 'KEY_PROVIDER_DENIED')) {
    return { reason: err.code === 'KEY_PROVIDER_DENIED' ? 'key_provider_denied' : 'key_provider_unavailable', detail: err.message };
  }
  if (err instanceof KeyProviderError) {
    return { reason: err.code === 'KEY_PROVIDER_DENIED' ? 'key_provider_denied' : 'key_provider_unavailable', detail: err.message };
  }
  if (err instanceof ValidationError) return { reason: 'invalid_record', detail: err.message };
  return undefined;
}

/**
 * Imports one wallet. Order of checks: agent id, token shape, Fernet keys, derived address, what
 * is already stored here, chain, clashes; then `importWallet` wraps with the active provider.
 */
async function importOneWallet(
  store: WalletStore,
  tenantId: string | undefined,
  record: AgentvaultWalletRecord,
  options: AgentvaultImportOptions,
  planned: Planned,
): Promise<ImportRow> {
  const row: ImportRow = { kind: 'wallet', id: idText(record.agent_id), outcome: 'refused', source: record.source };
  const refuse = (reason: ImportReason, detail: string): ImportRow => Object.assign(row, { reason, detail });
  let agentId: string;
  try {
    agentId = parseAgentId(record.agent_id);
  } catch (err) {
    return refuse('invalid_agent_id', err instanceof Error ? err.message : 'invalid agent_id');
  }
  if (typeof record.address === 'string') row.address = record.address;
  if (record.token === undefined) return refuse('invalid_record', 'the record has no encrypted private key');
  if (!looksLikeToken(record.token)) return refuse('invalid_token', 'the encrypted private key is not a Fernet token (url-safe base64, version 0x80)');

  const key = openToken(options.fernetKeys, record.token);
  if (key === undefined) {
    return refuse('fernet_key_mismatch', `none of the ${options.fernetKeys.length} given Fernet key(s) opens this wallet's token; pass AgentVault's ENCRYPT_KEY`);
  }
  try {
    const derived = addressOfKey(key);
    if (derived === undefined) return refuse('invalid_private_key', 'the token does not hold a 32-byte secp256k1 private key');
    if (typeof record.address !== 'string' || record.address.trim().toLowerCase() !== derived.toLowerCase()) {
      return refuse('address_mismatch', `the store records ${typeof record.address === 'string' ? record.address : 'no address'} but the key derives ${derived}`);
    }
    row.address = derived;

    const existing = tenantId === undefined ? undefined : await findWallet(store, { tenantId }, agentId);
    const existingAddress = existing?.address ?? planned.walletsByAgent.get(agentId);
    if (existingAddress !== undefined) {
      if (existingAddress.toLowerCase() === derived.toLowerCase()) {
        return Object.assign(row, { outcome: 'skipped', reason: 'already_imported', detail: existing ? `stored here already (key provider ${existing.key_provider})` : 'imported earlier in this run' } satisfies Partial<ImportRow>);
      }
      return refuse('conflict', `agent_id "${agentId}" already has another wallet here (${existingAddress})`);
    }

    const chainId = integerOf(record.chain_id);
    const sameChain = chainId === store.chain.chainId;
    if (!sameChain && !options.anyChain) {
      return refuse('chain_mismatch', `recorded for chain ${chainId ?? String(record.chain_id)}, the service runs chain ${store.chain.chainId}; pass --any-chain to import it on chain ${store.chain.chainId}`);
    }
    const holder = planned.agentsByAddress.get(derived.toLowerCase());
    if (holder !== undefined) return refuse('conflict', `address ${derived} is already the wallet of agent_id "${holder}"`);

    // AgentVault's last_nonce counts on its own chain; on another chain the count starts over (the chain's count wins when higher anyway).
    const lastNonce = record.last_nonce === null || record.last_nonce === undefined ? 0 : integerOf(record.last_nonce);
    if (lastNonce === undefined) return refuse('invalid_record', 'last_nonce must be a non-negative integer or null');
    const nextNonce = sameChain ? lastNonce : 0;
    const chainNote = sameChain ? undefined : `recorded for chain ${chainId ?? String(record.chain_id)}, imported on chain ${store.chain.chainId} (--any-chain)`;

    if (options.dryRun || tenantId === undefined) {
      const taken = tenantId === undefined
        ? undefined
        : await store.db
            .selectFrom('wallets')
            .select('agent_id')
            .where('tenant_id', '=', tenantId)
            .where('chain_id', '=', String(store.chain.chainId))
            .where('address', '=', derived)
            .executeTakeFirst();
      if (taken) return refuse('conflict', `address ${derived} is already the wallet of agent_id "${taken.agent_id}"`);
    } else {
      try {
        await importWallet(store, tenantId, agentId, key, 'agentvault', { nextNonce });
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        const now = await findWallet(store, { tenantId }, agentId);
        if (now && now.address.toLowerCase() === derived.toLowerCase()) {
          return Object.assign(row, { outcome: 'skipped', reason: 'already_imported', detail: 'stored concurrently' } satisfies Partial<ImportRow>);
        }
        return refuse('conflict', err.message);
      }
    }
    planned.walletsByAgent.set(agentId, derived);
    planned.agentsByAddress.set(derived.toLowerCase(), agentId);
    row.outcome = 'imported';
    if (chainNote) row.detail = chainNote;
    return row;
  } finally {
    key.fill(0);
  }
}

/** Imports one strategy, stopped. */
async function importOneStrategy(
  store: WalletStore,
  tenantId: string | undefined,
  record: AgentvaultStrategyRecord,
  options: AgentvaultImportOptions,
  planned: Planned,
): Promise<ImportRow> {
  const row: ImportRow = { kind: 'strategy', id: idText(record.label), outcome: 'refused', source: record.source, enabled_in_agentvault: booleanOf(record.enabled) };
  const label = record.label;
  if (typeof label !== 'string' || label.trim() === '' || label.length > LABEL_MAX || /[\u0000-\u001f]/.test(label)) {
    return Object.assign(row, { reason: 'invalid_label', detail: `the label must be 1-${LABEL_MAX} printable characters` } satisfies Partial<ImportRow>);
  }
  const present = planned.labels.has(label) || (tenantId !== undefined && (await store.db.selectFrom('strategies').select('id').where('tenant_id', '=', tenantId).where('label', '=', label).where('deleted_at', 'is', null).executeTakeFirst()) !== undefined);
  if (present) return Object.assign(row, { outcome: 'skipped', reason: 'already_imported', detail: 'a strategy with this label is stored here already' } satisfies Partial<ImportRow>);

  const kind = record.strategy_type === null || record.strategy_type === undefined || record.strategy_type === '' ? 'dca' : record.strategy_type;
  if (typeof kind !== 'string' || !STRATEGY_KINDS.has(kind)) {
    return Object.assign(row, { reason: 'unsupported_kind', detail: `strategy type ${JSON.stringify(kind)} is not supported (known: ${[...STRATEGY_KINDS].join(', ')})` } satisfies Partial<ImportRow>);
  }
  if (typeof record.agent_id !== 'string' || record.agent_id === '') {
    return Object.assign(row, { reason: 'invalid_record', detail: 'agent_id must be text' } satisfies Partial<ImportRow>);
  }
  const wallet = tenantId === undefined ? undefined : await findWallet(store, { tenantId }, record.agent_id);
  const walletAddress = wallet?.address ?? planned.walletsByAgent.get(record.agent_id);
  if (walletAddress === undefined) {
    return Object.assign(row, { reason: 'wallet_missing', detail: `agent_id "${record.agent_id}" has no wallet in this tenant (imported now or before)` } satisfies Partial<ImportRow>);
  }
  row.address = walletAddress;
  if (typeof record.to_address !== 'string' || !isAddress(record.to_address.trim())) {
    return Object.assign(row, { reason: 'invalid_address', detail: 'to_address is not a valid address (0x + 40 hex characters, valid EIP-55 checksum when mixed case)' } satisfies Partial<ImportRow>);
  }
  const toAddress = getAddress(record.to_address.trim());

  let params: Record<string, unknown>;
  let legacy: Record<string, unknown>;
  try {
    const amount = amountOf('amount_eth', record.amount_eth, 18, false);
    const interval = integerOf(record.interval_seconds);
    if (interval === undefined || interval === 0) {
      throw new RecordRefusal('invalid_interval', `interval_seconds must be a positive integer (got ${JSON.stringify(record.interval_seconds ?? null)})`);
    }
    const isSet = (v: unknown) => v !== null && v !== undefined;
    const maxBaseFee = isSet(record.max_base_fee_gwei) ? amountOf('max_base_fee_gwei', record.max_base_fee_gwei, 9, true).units.toString() : null;
    const dailyCap = isSet(record.daily_cap_eth) ? amountOf('daily_cap_eth', record.daily_cap_eth, 18, true).units.toString() : null;
    // A running float sum: kept as its exact decimal text, however many decimals it has.
    let spentToday: string | null = null;
    if (isSet(record.spent_today_eth)) {
      spentToday = plainDecimal(record.spent_today_eth) ?? null;
      if (spentToday === null || spentToday.startsWith('-')) throw new RecordRefusal('invalid_amount', 'spent_today_eth is not a non-negative number');
    }
    params = {
      to_address: toAddress,
      amount_wei: amount.units.toString(),
      interval_seconds: interval,
      max_base_fee_wei: maxBaseFee,
      daily_cap_wei: dailyCap,
    };
    legacy = {
      enabled: booleanOf(record.enabled),
      next_run_at: optionalText('next_run_at', record.next_run_at),
      last_run_at: optionalText('last_run_at', record.last_run_at),
      last_tx_hash: optionalText('last_tx_hash', record.last_tx_hash),
      spent_day: optionalText('spent_day', record.spent_day),
      spent_today_eth: spentToday,
    };
  } catch (err) {
    if (!(err instanceof RecordRefusal)) throw err;
    return Object.assign(row, { reason: err.reason, detail: err.message } satisfies Partial<ImportRow>);
  }

  if (!options.dryRun && tenantId !== undefined) {
    if (!wallet) throw new Error(`wallet of agent_id "${record.agent_id}" vanished during the import`);
    const inserted = await store.db
      .insertInto('strategies')
      .values({
        tenant_id: tenantId,
        wallet_id: wallet.id,
        label,
        kind,
        params: JSON.stringify(params),
        status: 'stopped',
        origin: 'agentvault',
        legacy_state: JSON.stringify(legacy),
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'label']).where('deleted_at', 'is', null).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return Object.assign(row, { outcome: 'skipped', reason: 'already_imported', detail: 'stored concurrently' } satisfies Partial<ImportRow>);
  }
  planned.labels.add(label);
  row.outcome = 'imported';
  const stored = options.dryRun ? 'would be stored stopped' : 'stored stopped';
  row.detail = row.enabled_in_agentvault ? `${stored} (it was enabled in AgentVault)` : stored;
  return row;
}

/**
 * Imports AgentVault wallets, then strategies, into `tenantId`, one write per record.
 *
 * @param store the database, the key ring (its ACTIVE provider wraps every imported key) and the
 *   service's chain id (wallets are recorded on it).
 * @param tenantId the tenant's id; `undefined` only in a dry run whose tenant does not exist yet
 *   (then nothing counts as stored already).
 * @param input records as read by `agentvault-sources.ts`.
 * @param options AgentVault's Fernet key(s), `dryRun`, `anyChain`.
 * @returns the report: counts and one row per record (outcome, reason, address, detail). A record
 *   refused or skipped never stops the others; unexpected errors (database down) are refused as
 *   `internal_error` and passed to `onInternalError`.
 * @throws {KeyProviderError} `KEY_PROVIDER_UNAVAILABLE` when a Fernet key is malformed (before anything is read).
 */
export async function importAgentvaultRecords(
  store: WalletStore,
  tenantId: string | undefined,
  input: { wallets: readonly AgentvaultWalletRecord[]; strategies: readonly AgentvaultStrategyRecord[] },
  options: AgentvaultImportOptions,
): Promise<ImportReport> {
  checkFernetKeys(options.fernetKeys);
  if (tenantId === undefined && !options.dryRun) throw new Error('importAgentvaultRecords: a tenant id is required unless dryRun is set');
  const planned: Planned = { walletsByAgent: new Map(), agentsByAddress: new Map(), labels: new Set() };
  const report: ImportReport = {
    dry_run: options.dryRun === true,
    chain_id: store.chain.chainId,
    key_provider: store.keys.active.name,
    wallets: { imported: 0, skipped: 0, refused: 0 },
    strategies: { imported: 0, skipped: 0, refused: 0 },
    enabled_in_agentvault: [],
    rows: [],
  };
  const guarded = async (kind: 'wallet' | 'strategy', id: unknown, source: string, run: () => Promise<ImportRow>): Promise<ImportRow> => {
    try {
      return await run();
    } catch (err) {
      const known = knownFailure(err);
      if (known) return { kind, id: idText(id), outcome: 'refused', ...known, source };
      options.onInternalError?.(`${kind} ${idText(id)}`, err);
      const code = err instanceof VaultPilotError ? err.code : err instanceof Error ? err.name : 'error';
      return { kind, id: idText(id), outcome: 'refused', reason: 'internal_error', detail: `unexpected ${code}; see the log`, source };
    }
  };
  for (const record of input.wallets) {
    const row = await guarded('wallet', record.agent_id, record.source, () => importOneWallet(store, tenantId, record, options, planned));
    report.rows.push(row);
    report.wallets[row.outcome] += 1;
  }
  for (const record of input.strategies) {
    const row = await guarded('strategy', record.label, record.source, () => importOneStrategy(store, tenantId, record, options, planned));
    report.rows.push(row);
    report.strategies[row.outcome] += 1;
    if (row.outcome === 'imported' && row.enabled_in_agentvault) report.enabled_in_agentvault.push(row.id);
  }
  return report;
}
