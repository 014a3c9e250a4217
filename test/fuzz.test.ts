/**
 * Fuzzing every MCP tool and every REST route (docs/security.md#fuzzing), on real parts: a server
 * and a worker over Postgres and anvil, with realistic state first (wallets, one funded; strategies;
 * pending approvals; a transaction; keys of every role, a scoped one, a revoked one, another
 * tenant's; session cookies), so that generated input mixes real ids with malformed values and
 * reaches the handlers, not only the first check.
 *
 * fast-check generates batches of cases. A case is one MCP `tools/call` (raw fetch, a JSON-RPC
 * batch of several, or the SDK client over Streamable HTTP or HTTP+SSE), one malformed JSON-RPC
 * message or header set, or one REST request (any route, any role's bearer key, a session cookie,
 * a bad header or none). Tool arguments and REST bodies come from the tools' `inputSchema` and the
 * OpenAPI document: mostly the right shape with one to three fields corrupted (wrong JSON types,
 * huge strings, NUL, lone surrogates, control and bidi characters, JSON deeper than 32 levels,
 * negative, huge and exponent-form numbers, look-alike unicode addresses, amounts with 19+
 * decimals, unknown fields, missing fields), plus malformed path parameters, query strings,
 * content types and bodies that are not JSON or over the limit.
 *
 * Properties, per input:
 * - it is answered (no reset, no hang), and afterwards the server still serves both transports;
 * - no status ≥ 500, except 503 `BUSY` with `retry_after_seconds` (the key-derivation pool);
 * - every refusal carries a stable code of {@link ERROR_CODES}, never `INTERNAL`: MCP
 *   `_meta["vaultpilot/error"].code`, REST `{"error":{"code"}}`; a malformed JSON-RPC message is
 *   the SDK's to refuse with a JSON-RPC error code (counted apart), but a well-formed call of a
 *   known tool must get a tool result;
 * - a body over the limit is 413 `PAYLOAD_TOO_LARGE`, one under it is not;
 * - the server logs no error while answering it;
 * - a refusal writes no row: triggers note every committed write to every business table by the
 *   server (not the audit log, rate-limit counters or confirmation failures, which refusals are
 *   meant to write; not the worker, which acts on earlier successes). A batch of refusals must
 *   leave none; when a batch also had a success and rows were written, each refusal is replayed
 *   alone and must leave none.
 *
 * `FUZZ_SEED` (default {@link DEFAULT_SEED}) and `FUZZ_RUNS` (inputs, default 10,000) change the run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import { Mnemonic, Wallet, encryptKeystoreJsonSync } from 'ethers';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { ERROR_CODES } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { buildApp } from '../server/app.ts';
import { SESSION_COOKIE } from '../server/auth.ts';
import { API_BODY_LIMIT, MCP_BODY_LIMIT, SESSION_BODY_LIMIT } from '../server/middleware/body-limit/index.ts';
import { startWorker, type RunningWorker } from '../worker/start.ts';
import { LogSink, callOk, chainProvider, connectMcp, freshAddress, startStack, type Stack } from './harness.ts';
import { createKey, pendingApproval } from './approval-harness.ts';

/** An integer environment variable, or `fallback` when unset. */
function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer (got "${raw}")`);
  return n;
}

/** The seed CI runs with; another one explores other inputs (`FUZZ_SEED=123 node scripts/test.ts fuzz`). */
const DEFAULT_SEED = 20_251_207;
const SEED = envInt('FUZZ_SEED', DEFAULT_SEED);
/** Inputs to send: tool calls, JSON-RPC messages and REST requests (`FUZZ_RUNS`). */
const TARGET = envInt('FUZZ_RUNS', 10_000);
/** Cases of one batch in flight at once (the machine has two cores, shared with Postgres and anvil). */
const CONCURRENCY = 4;
/** Shrink attempts that still talk to the server after a failure; later ones pass, ending the shrink. */
const SHRINK_BUDGET = 200;
/** The worker's connections carry this name, so its writes (after earlier successes) are told apart. */
const WORKER_APP = 'vp-fuzz-worker';
/** Tables a refusal may write: every call is audited, rate limits count calls, wrong codes count. */
const REFUSAL_MAY_WRITE = new Set(['audit_events', 'rate_limit_counters', 'confirmation_failures', 'vaultpilot_migrations', 'vaultpilot_migrations_lock', 'fuzz_writes']);
const CODES = new Set<string>(ERROR_CODES);
/** JSON-RPC errors the SDK answers malformed messages with (parse, invalid request, method, params, transport). */
const PROTOCOL_CODES = new Set([-32700, -32600, -32601, -32602, -32000]);
const MCP_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
const PROTOCOL_VERSIONS = ['2025-03-26', '2025-06-18', '2024-11-05'];

// ---------------------------------------------------------------------------------------------
// Values that stand for JSON the generators cannot (or should not) hold as plain objects

/** JSON text written into a body as is: number tokens JSON.stringify cannot make (`1e400`, `-0`), JSON nested thousands deep. */
class RawJson {
  readonly label: string;
  #text: string | (() => string);
  /** @param text - the JSON text, or a function making it (deep text is built only when sent). */
  constructor(text: string | (() => string), label: string) {
    this.#text = text;
    this.label = label;
  }
  get text(): string {
    if (typeof this.#text === 'function') this.#text = this.#text();
    return this.#text;
  }
  [fc.toStringMethod](): string {
    return `raw(${this.label})`;
  }
}

/** A string of `length` UTF-16 units made of `unit`, kept symbolic so counterexamples print short. */
class Huge {
  readonly length: number;
  readonly unit: string;
  constructor(length: number, unit: string) {
    this.length = length;
    this.unit = unit;
  }
  text(): string {
    return this.unit.repeat(Math.ceil(this.length / this.unit.length)).slice(0, this.length);
  }
  [fc.toStringMethod](): string {
    return `huge(${this.length} × ${JSON.stringify(this.unit)})`;
  }
}

/** JSON text of `value`, {@link RawJson} written as is and {@link Huge} expanded. */
function toJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (value instanceof Huge) return JSON.stringify(value.text());
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : toJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const parts = Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A short, printable rendering of a generated value for failure messages. */
function show(value: unknown, max = 400): string {
  const text = fc.stringify(value);
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
}

/** Whether `value` holds a {@link RawJson} (which the SDK client, writing with JSON.stringify, cannot send). */
function hasRaw(value: unknown): boolean {
  if (value instanceof RawJson) return true;
  if (Array.isArray(value)) return value.some(hasRaw);
  if (value !== null && typeof value === 'object' && !(value instanceof Huge)) return Object.values(value).some(hasRaw);
  return false;
}

/** Whether the SDK client can send `value`: no raw tokens, and well under the body limit once written. */
function sdkSendable(value: unknown): boolean {
  return !hasRaw(value) && Buffer.byteLength(toJson(value ?? null)) < MCP_BODY_LIMIT - 4096;
}

/** `value` as plain JSON data (for the SDK client). */
function materialize(value: unknown): unknown {
  if (value instanceof Huge) return value.text();
  if (value instanceof RawJson) return JSON.parse(value.text);
  if (Array.isArray(value)) return value.map(materialize);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setKey(out, k, materialize(v));
    return out;
  }
  return value;
}

/** Sets an own property, even `__proto__` (plain assignment would set the prototype instead). */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------------------------
// Malformed values

const WRONG_TYPES: unknown[] = [0, 1, -1, 1.5, true, false, null, [], {}, [null], ['a'], { a: 1 }, '', 'x', [[[]]], { '': '' }];

const NASTY_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '\udc00\ud800', '\u202eevil', '\u200f\u202b', '\u200d', '\u200b', '\ufeff', '\u2028\u2029',
  '\u0007\u001b[31mred', '\r\n\t', '\u007f', '\u0085', '%00', '%ED%A0%80', '\\u0000', '../../etc/passwd', "'; drop table wallets; --", '" or 1=1 --',
  '${jndi:ldap://x/a}', '{{7*7}}', '<script>alert(1)</script>', '\u{1F4A9}', '𝟘𝕩𝟙', 'null', 'undefined', 'true', 'NaN', 'Infinity', '-Infinity', '-0',
  '1e-30', '1e21', '1e309', '0x10', '１２３', '٣', 'ǅ', 'İ', 'ß', 'ﬃ', 'a\u0301', '__proto__', 'constructor', 'toString', 'hasOwnProperty',
];

/** JSON numbers, as JS numbers (JSON.stringify writes 1e21 as `1e+21`, 1e-7 as `1e-7`). */
const NASTY_NUMBERS = [-1, -0.5, 0, 1e308, -1e308, 2 ** 64, 2 ** 63, 2 ** 53 + 2, 1e21, 1e-7, 1e-30, 5e-324, 0.1, 0.30000000000000004, 1.5, 4294967296, -2147483649, 31622401, 1e9];
/** JSON number tokens JSON.stringify never writes. */
const RAW_NUMBERS = ['-0', '1e400', '-1e400', '1E+21', '1e-400', '0.0000000000000000001', '123456789012345678901234567890', '1.0', '1e2', '0e0', '-0.0', `1${'0'.repeat(400)}`];

const BAD_AMOUNTS = [
  '0.0000000000000000001', '1.1234567890123456789', '0.1234567890123456789012345', '１', '1,5', '1.', '.5', '+1', '-0.1', '-0', '0', '0.0', '1e-18', '1e18', '1E3',
  '0x1', ' 0.1', '0.1 ', '٠٫١', 'NaN', '∞', '1'.repeat(100), `${'0'.repeat(500)}1`, (2n ** 256n).toString(), '1_000', '0.1.1', '1/2', '½', '10000000000', '0b1', '1n',
];

const WEIRD_DATES = [
  '2024-02-30T00:00:00Z', '+275760-09-13T00:00:00.000Z', '-271821-04-20T00:00:00.000Z', '0000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z',
  // JavaScript reads these; Postgres's timestamps end at 4713 BC.
  '-004714-11-24T00:00:00.000Z', '-010000-01-01T00:00:00.000Z', '-100000-06-15T12:00:00.000Z',
  '1970-01-01', 'now', '2024-01-01T25:00:00Z', '2024-01-01T00:00:00+99:00', '2024-13-01', 'Tue, 01 Jan 2030 00:00:00 GMT', '1', '0', '-1', '1e21', '20240101',
  '2030-01-01T00:00:00', '2030-01-01 00:00:00+00', '２０３０-01-01T00:00:00Z', 'Invalid Date', '2030-01-01T00:00:00.123456789Z', '2030-W01-1',
];

const WEIRD_CRONS = ['* * * * *', '*/0 * * * *', '0 0 31 2 *', '0 0 30 2 *', '@yearly', '@reboot', '60 * * * *', '* * * * * * *', '0 0 * * 8', '0 0 29 2 1', '*/1 * * * * *', 'L W # ?', '0-59/0 * * * *', '1-0 * * * *', '* * * * 7#5', '', '0 0 1 1 * 2099', '*/59 */23 */31 */12 */7'];
const WEIRD_ZONES = ['Mars/Olympus', 'UTC+25', '', 'Etc/GMT+14', 'Etc/GMT-14', 'europe/berlin', 'EST5EDT', 'Local', '+01:00', 'Z', 'America/Argentina/ComodRivadavia', 'a'.repeat(300), '../../etc/passwd'];

const CURVE_N = 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141';
const WEIRD_HEX = [
  '0x', '0x0', `0x${'0'.repeat(64)}`, '0'.repeat(64), 'f'.repeat(64), 'F'.repeat(64), CURVE_N, `0x${CURVE_N}`, `0x${'g'.repeat(64)}`, `0x${'a'.repeat(63)}`, `0x${'a'.repeat(65)}`,
  `0x${'0'.repeat(130)}`, `0x${'ff'.repeat(65)}`, `0x${'a'.repeat(128)}1c`, `0x${'a'.repeat(128)}ff`, `0X${'ab'.repeat(32)}`, `${'ab'.repeat(32)}\u0000`, `0x${'１'.repeat(64)}`, `0x${'ab'.repeat(64)}`,
];

const WEIRD_MNEMONICS = [
  Array(12).fill('abandon').join(' '), `${Array(11).fill('abandon').join(' ')} about`, Array(13).fill('abandon').join(' '), `${Array(11).fill('ABANDON').join(' ')} ABOUT`,
  `  ${Array(11).fill('abandon').join('  ')} about  `, Array(12).fill('あいこくしん').join('\u3000'), Array(24).fill('zoo').join(' '), 'a', Array(12).fill('abandon').join(','),
  `${Array(11).fill('abandon').join(' ')} about\u0000`, `${Array(11).fill('abandon').join(' ')} abou\u0301t`, Array(300).fill('abandon').join(' '),
];

/** `0x` addresses with one character swapped for a look-alike, or other near misses. */
const LOOKALIKE_KINDS = ['cyrillic', 'greek', 'fullwidth', 'zwj', 'zwsp', 'wj', 'soft-hyphen', 'rtl', 'cyrillic-x', 'upper-0X', 'no-0x', 'short', 'long', 'checksum', 'space', 'nbsp', 'nul', 'ens', 'icap', 'all-upper', 'emoji', 'arabic-digit'] as const;
const HOMOGLYPHS: Record<string, string> = { a: '\u0430', c: '\u0441', e: '\u0435', b: '\u042c', '0': '\u043e', '1': '\u04cf', '3': '\u0417', d: '\u0501', f: '\u0192' };

/** A near miss of `address` (0x + 40 hex) of `kind`, at position `at` of the hex part. */
function lookalike(address: string, kind: (typeof LOOKALIKE_KINDS)[number], at: number): string {
  const hex = address.slice(2);
  const i = at % hex.length;
  const swap = (f: (ch: string) => string) => `0x${hex.slice(0, i)}${f(hex[i]!)}${hex.slice(i + 1)}`;
  const insert = (s: string) => `0x${hex.slice(0, i)}${s}${hex.slice(i)}`;
  switch (kind) {
    case 'cyrillic': {
      const j = [...hex].findIndex((ch, k) => k >= i && HOMOGLYPHS[ch.toLowerCase()] !== undefined);
      const k = j === -1 ? [...hex].findIndex((ch) => HOMOGLYPHS[ch.toLowerCase()] !== undefined) : j;
      return `0x${hex.slice(0, k)}${HOMOGLYPHS[hex[k]!.toLowerCase()]}${hex.slice(k + 1)}`;
    }
    case 'greek': return swap((ch) => (/[0-9]/.test(ch) ? '\u03bf' : '\u03b1'));
    case 'fullwidth': return swap((ch) => (/[0-9]/.test(ch) ? String.fromCharCode(0xff10 + Number(ch)) : String.fromCharCode(0xff41 + ch.toLowerCase().charCodeAt(0) - 97)));
    case 'zwj': return insert('\u200d');
    case 'zwsp': return insert('\u200b');
    case 'wj': return insert('\u2060');
    case 'soft-hyphen': return insert('\u00ad');
    case 'rtl': return `\u202e${address}`;
    case 'cyrillic-x': return `0\u0445${hex}`;
    case 'upper-0X': return `0X${hex}`;
    case 'no-0x': return hex;
    case 'short': return address.slice(0, -1);
    case 'long': return `${address}a`;
    case 'checksum': {
      const j = [...hex].findIndex((ch, k) => k >= i && /[a-fA-F]/.test(ch));
      const k = j === -1 ? Math.max(0, [...hex].findIndex((ch) => /[a-fA-F]/.test(ch))) : j;
      const ch = hex[k]!;
      return `0x${hex.slice(0, k)}${ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()}${hex.slice(k + 1)}`;
    }
    case 'space': return i % 2 ? ` ${address}` : `${address} `;
    case 'nbsp': return `${address}\u00a0`;
    case 'nul': return `${address}\u0000`;
    case 'ens': return 'vitalik.eth';
    case 'icap': return 'XE7338O073KYGTWWZN0F2WZ0R8PX5ZPPZS';
    case 'all-upper': return `0x${hex.toUpperCase()}`;
    case 'emoji': return insert('\u{1F600}');
    case 'arabic-digit': return swap(() => '\u0663');
  }
}

/** Malformed ids (what a uuid argument or path parameter might be sent as), decoded. */
function badIds(real: string): string[] {
  return [
    'not-a-uuid', '1', '0', '-1', 'null', '-'.repeat(36), 'g'.repeat(36), '0'.repeat(36), 'f'.repeat(36), '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
    real.toUpperCase(), `{${real}}`, real.replace(/-/g, ''), `${real} `, `${real}\u0000`, `\u202e${real}`, real.replace(/a/, '\u0430'), real.slice(0, 35), `${real}${real}`,
    [...real].map((ch) => (/[0-9]/.test(ch) ? String.fromCharCode(0xff10 + Number(ch)) : ch)).join(''), `${'0'.repeat(8)}-${'0'.repeat(4)}-${'0'.repeat(4)}-${'0'.repeat(4)}-${'-'.repeat(12)}`,
  ];
}

/** base64url of arbitrary JSON: what a forged pagination cursor looks like. */
function cursorOf(json: unknown): string {
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

/** JSON nested `depth` levels deep, as text (an object of that depth would be costly to build and print). */
function deepText(depth: number, kind: 'array' | 'object' | 'mixed'): string {
  if (kind === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
  if (kind === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += i % 2 ? '[' : '{"k":';
    close = (i % 2 ? ']' : '}') + close;
  }
  return `${open}0${close}`;
}

/** A real nested value `depth` levels deep (for the SDK client, which sends what JSON.stringify makes). */
function deepValue(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
  return v;
}

// ---------------------------------------------------------------------------------------------
// The state the fuzzer starts from

/** Names of the keys cases authenticate with (`none`: no header; `garbage`: a key that does not exist). */
const KEY_NAMES = ['owner', 'admin', 'operator', 'viewer', 'agent', 'scoped', 'owner2', 'tenantB', 'revoked', 'garbage', 'none'] as const;
type KeyName = (typeof KEY_NAMES)[number];
/** Keys valid cases use (they should get past authentication and authorization). */
const GOOD_KEYS = ['owner', 'owner', 'owner', 'admin', 'operator', 'agent', 'scoped', 'owner2', 'tenantB'] as const satisfies readonly KeyName[];

/** Ids, names and secrets of the realistic state, as pools for the generators. */
interface World {
  chainId: number;
  keys: Record<KeyName, string | null>;
  agents: string[];
  /** Addresses that are valid recipients (fresh ones, the wallets' own, the denied one). */
  addresses: string[];
  fresh: string[];
  walletIds: string[];
  strategyIds: string[];
  labels: string[];
  approvalIds: string[];
  /** Keys the fuzzer may revoke (never the ones cases authenticate with). */
  keyIds: string[];
  txIds: string[];
  txHashes: string[];
  cursors: string[];
  txConfirmCode: string;
  exportCode: string;
  privateKeys: string[];
  mnemonics: string[];
  keystore: string;
  keystorePassword: string;
  typedData: Record<string, unknown>;
  typedSignature: string;
  message: string;
  messageSignature: string;
  signer: string;
  toolNames: string[];
  /** Session cookie tokens (owner, operator, viewer). */
  sessions: string[];
}

// ---------------------------------------------------------------------------------------------
// Generators

/** The subset of JSON Schema that tools/list and the OpenAPI document use. */
interface Schema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  $ref?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  minimum?: number;
  maximum?: number;
  minItems?: number;
}

/** A generated value and the kind of corruption it is (for the coverage count). */
interface Tagged {
  tag: string;
  value: unknown;
}

/** One change to an otherwise well-formed object: a field set to a malformed value, removed, or added. */
type Corruption = { op: 'set'; key: string; tag: string; value: unknown } | { op: 'delete'; key: string } | { op: 'extra'; key: string; value: unknown };

type Intent = 'valid' | 'corrupt';

interface ToolCallInput {
  name: string;
  /** `undefined`: the `arguments` member is left out. */
  args: unknown;
  tags: string[];
}

interface McpCase {
  surface: 'mcp';
  /** `fetch` with several calls is one JSON-RPC batch. */
  via: 'fetch' | 'streamable' | 'sse';
  key: KeyName;
  protocolVersion: string;
  calls: ToolCallInput[];
  intent: Intent;
}

interface RawMcpCase {
  surface: 'mcp-raw';
  key: KeyName;
  body: string | RawJson | Huge | unknown;
  headers: { accept?: string | null; contentType?: string | null; protocolVersion?: string | null };
  tag: string;
  intent: Intent;
}

type RestAuth = { kind: 'bearer'; key: KeyName } | { kind: 'cookie'; session: number; origin: 'own' | 'evil' | 'none' } | { kind: 'header'; value: string };
type RestBody = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'text'; text: string | Huge };

interface RestCase {
  surface: 'rest';
  route: string;
  method: string;
  /** Path segments after substitution, percent-encoded as sent. */
  path: string;
  query: string;
  auth: RestAuth;
  body: RestBody;
  contentType: string | null;
  tags: string[];
  intent: Intent;
}

type Case = McpCase | RawMcpCase | RestCase;

/** A REST route: method, OpenAPI path template, its parameters and body schema. */
interface Route {
  key: string;
  method: string;
  template: string;
  params: string[];
  query: Array<{ name: string; schema: Schema }>;
  body: Schema | undefined;
}

/** Builds every generator over the world's pools. */
class Generators {
  readonly w: World;
  readonly resolve: (s: Schema) => Schema;
  readonly #nasty = new Map<string, fc.Arbitrary<Tagged>>();

  constructor(w: World, components: Record<string, Schema>) {
    this.w = w;
    this.resolve = (s) => (s.$ref ? (components[s.$ref.replace('#/components/schemas/', '')] ?? {}) : s);
  }

  /** Well-formed values by field name: the pools of the realistic state. */
  hint(name: string): fc.Arbitrary<unknown> | undefined {
    const w = this.w;
    const future = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
    const amount = fc.constantFrom<unknown>('0.0001', '0.001', '0.03', '0.06', '1', 0.0002);
    const dcaParams = fc.record({ to_address: fc.constantFrom(...w.fresh), amount_eth: fc.constantFrom('0.0001', '0.001'), interval_seconds: fc.constantFrom(3600, 86_400) });
    switch (name) {
      case 'agent_id': return fc.constantFrom(...w.agents);
      case 'to_address': case 'address': return fc.constantFrom(...w.addresses);
      case 'recipients': return fc.uniqueArray(fc.constantFrom(...w.fresh), { minLength: 1, maxLength: 3 });
      case 'amount_eth': case 'total_amount_eth': case 'total_eth': return amount;
      case 'daily_cap_eth': return fc.constantFrom('0.01', '1');
      case 'min_balance_reserve_eth': return fc.constantFrom('0', '0.1');
      case 'max_base_fee_gwei': return fc.constantFrom<unknown>('100', '1000', 50, '0.000000001');
      case 'items': return fc.dictionary(fc.constantFrom(...w.fresh), fc.constantFrom('0.0001', '0.0002'), { minKeys: 1, maxKeys: 3 });
      case 'confirmation_code': return fc.constantFrom(w.txConfirmCode, w.exportCode, 'wrong-code-0000');
      case 'reason': case 'note': return fc.constantFrom('fuzz', 'weekly payout');
      case 'tx_hash': return fc.constantFrom(...w.txHashes, `0x${'ab'.repeat(32)}`);
      case 'id': return fc.constantFrom(...w.txIds, '6f1c2b7e-3d4a-4b5c-9d8e-7f6a5b4c3d2e');
      case 'approval_id': return fc.constantFrom(...w.approvalIds, '6f1c2b7e-3d4a-4b5c-9d8e-7f6a5b4c3d2e');
      case 'label': return fc.oneof(fc.constantFrom(...w.labels), fc.nat(40).map((n) => `fz-new-${n}`));
      case 'cursor': return fc.constantFrom(...w.cursors);
      case 'limit': return fc.constantFrom(1, 50, 200);
      case 'private_key': return fc.constantFrom(...w.privateKeys);
      case 'mnemonic': return fc.constantFrom(...w.mnemonics);
      case 'passphrase': case 'password': return fc.constantFrom(w.keystorePassword, 'fuzz passphrase 123');
      case 'encrypted_json': return fc.constantFrom<unknown>(w.keystore, JSON.parse(w.keystore));
      case 'typed_data': return fc.constantFrom<unknown>(w.typedData, JSON.stringify(w.typedData));
      case 'signature': return fc.constantFrom(w.messageSignature, w.typedSignature);
      case 'message': return fc.constantFrom(w.message, '0x68656c6c6f');
      case 'num_words': return fc.constantFrom(12, 15, 18, 21, 24);
      case 'language': return fc.constant('english');
      case 'account_index': return fc.nat(3);
      case 'path': return fc.constant("m/44'/60'/0'/0/1");
      case 'interval_seconds': return fc.constantFrom(60, 3600, 86_400);
      case 'check_interval_seconds': return fc.constantFrom(30, 60);
      case 'cron': return fc.constantFrom('0 9 * * 1-5', '*/5 * * * *');
      case 'timezone': return fc.constantFrom('Europe/Berlin', 'UTC');
      case 'start_at': case 'ends_at': case 'send_at_iso': case 'expires_at': case 'run_at': case 'owner_key_expires_at': return fc.constantFrom(future(1), future(30));
      case 'max_runs': return fc.constantFrom(1, 3);
      case 'params': return dcaParams;
      case 'kind': return fc.constantFrom('dca', 'dca', 'scheduled_send', 'send_when_gas_below', 'micro_tip');
      case 'api_key': return fc.constantFrom(...Object.values(w.keys).filter((k): k is string => k !== null));
      case 'name': case 'owner_key_name': return fc.nat(1000).map((n) => `fz-name-${n}`);
      case 'role': return fc.constantFrom('owner', 'admin', 'operator', 'viewer', 'agent');
      case 'allowed_tools': return fc.constantFrom<unknown>(null, ['list_wallets'], w.toolNames.slice(0, 3));
      case 'allowed_wallets': return fc.constantFrom<unknown>(null, w.agents.slice(0, 2));
      case 'allowed_ips': return fc.constantFrom<unknown>(null, ['127.0.0.1/32'], ['10.0.0.0/8', '::1/128']);
      case 'max_tx_eth': case 'spend_cap_24h_eth': case 'spend_cap_7d_eth': case 'approval_threshold_eth': return fc.constantFrom<unknown>('0.5', '2', null);
      case 'allowed_destinations': case 'denied_destinations': return fc.constantFrom<unknown>(null, [w.fresh[0]], [{ address: w.fresh[1], label: 'payroll' }]);
      case 'allowed_chains': return fc.constantFrom<unknown>(null, [w.chainId], [1, w.chainId]);
      case 'quiet_hours': return fc.constantFrom<unknown>(null, { start: '22:00', end: '07:00', timezone: 'Europe/Berlin', action: 'require_approval' });
      default: return undefined;
    }
  }

  /** A well-formed value for `schema` (field `name`): the pools where the name is known, else by type. */
  valid(schema: Schema, name: string, depth = 0): fc.Arbitrary<unknown> {
    const s = this.resolve(schema);
    if (s.enum) return fc.constantFrom(...s.enum);
    if (s.const !== undefined) return fc.constant(s.const);
    const hinted = this.hint(name);
    if (hinted) return hinted;
    const alternatives = s.anyOf ?? s.oneOf;
    if (alternatives) return fc.oneof(...alternatives.map((a) => this.valid(a, name, depth + 1)));
    const types = (Array.isArray(s.type) ? s.type : s.type ? [s.type] : ['string']).filter((t) => t !== 'null');
    const type = types[0] ?? 'null';
    switch (type) {
      case 'string': return fc.constantFrom('fuzz', 'hello');
      case 'integer': return fc.integer({ min: Math.max(s.minimum ?? 0, -1000), max: Math.min(s.maximum ?? 100, 1000) });
      case 'number': return fc.integer({ min: Math.max(s.minimum ?? 0, -1000), max: Math.min(s.maximum ?? 100, 1000) });
      case 'boolean': return fc.boolean();
      case 'array': return depth > 3 ? fc.constant([]) : fc.array(this.valid(s.items ?? {}, `${name}[]`, depth + 1), { minLength: s.minItems ?? 0, maxLength: 3 });
      case 'object': return depth > 3 ? fc.constant({}) : this.object(s, depth + 1);
      default: return fc.constant(null);
    }
  }

  /** A well-formed object: required fields always, optional ones now and then. */
  object(schema: Schema, depth = 0): fc.Arbitrary<Record<string, unknown>> {
    const s = this.resolve(schema);
    const props = s.properties ?? {};
    const model: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [k, v] of Object.entries(props)) model[k] = this.valid(v, k, depth);
    const required = (s.required ?? []).filter((k) => k in props);
    const optional = Object.keys(props).filter((k) => !required.includes(k));
    // fc.record's optional keys are present half the time; fewer keeps valid calls simple.
    return fc.tuple(fc.record(model, { requiredKeys: [] }), fc.subarray(optional, { maxLength: Math.min(3, optional.length) })).map(([all, keep]) => {
      const out: Record<string, unknown> = {};
      for (const k of [...required, ...keep]) if (k in all) setKey(out, k, all[k]);
      for (const k of required) if (!(k in out)) setKey(out, k, all[k] ?? 'fuzz');
      return out;
    });
  }

  /** Malformed values for field `name`: every generic kind, and the kinds that fit its meaning more often. */
  nasty(name: string): fc.Arbitrary<Tagged> {
    const cached = this.#nasty.get(name);
    if (cached) return cached;
    const w = this.w;
    const tag = (t: string, arb: fc.Arbitrary<unknown>) => arb.map((value): Tagged => ({ tag: t, value }));
    const address = fc.constantFrom(...w.addresses);
    const lookalikes = tag('lookalike_address', fc.tuple(address, fc.constantFrom(...LOOKALIKE_KINDS), fc.nat(39)).map(([a, k, i]) => lookalike(a, k, i)));
    const amounts = tag('bad_amount', fc.oneof(fc.constantFrom<unknown>(...BAD_AMOUNTS), fc.constantFrom(...RAW_NUMBERS.map((n) => new RawJson(n, n)))));
    const generic: Array<fc.Arbitrary<Tagged>> = [
      tag('wrong_type', fc.constantFrom(...WRONG_TYPES)),
      tag('nasty_string', fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.string({ unit: 'binary', maxLength: 24 }), fc.string({ unit: fc.constantFrom('\u0000', '\ud800', '\udfff', '\u202e', '\u200d', 'a', '0', 'x', '\u0430', '\u001f'), minLength: 1, maxLength: 24 }))),
      tag('nasty_number', fc.oneof(fc.constantFrom<unknown>(...NASTY_NUMBERS), fc.constantFrom(...RAW_NUMBERS.map((n) => new RawJson(n, n))), fc.double())),
      tag('deep', fc.oneof(
        fc.tuple(fc.oneof(fc.integer({ min: 31, max: 40 }), fc.integer({ min: 41, max: 2000 }), fc.constantFrom(20_000, 100_000)), fc.constantFrom('array' as const, 'object' as const, 'mixed' as const)).map(([d, k]) => new RawJson(() => deepText(d, k), `${k} nested ${d} deep`)),
        fc.integer({ min: 31, max: 64 }).map(deepValue),
      )),
      tag('huge', fc.tuple(
        fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 200, max: 5000 }) }, { weight: 4, arbitrary: fc.integer({ min: 5000, max: 200_000 }) }, { weight: 1, arbitrary: fc.constantFrom(600_000, 1_040_000, 1_100_000, 2_000_000) }),
        fc.constantFrom('a', '\u0430', '\u0000', '\ud800', 'ab\u202e', '0', '\u{1F600}', '9'),
      ).map(([n, u]) => new Huge(n, u))),
      lookalikes,
      amounts,
      tag('bad_id', fc.constantFrom(...badIds(w.walletIds[0]!))),
    ];
    const specific: Array<fc.Arbitrary<Tagged>> = [];
    if (/address|recipients|destinations/.test(name)) specific.push(lookalikes, lookalikes);
    if (/amount|_eth$|gwei/.test(name)) specific.push(amounts, amounts);
    if (/_at$|_iso$/.test(name)) specific.push(tag('weird_date', fc.constantFrom(...WEIRD_DATES)));
    if (name === 'cron') specific.push(tag('weird_cron', fc.constantFrom(...WEIRD_CRONS)));
    if (name === 'timezone') specific.push(tag('weird_zone', fc.constantFrom(...WEIRD_ZONES)));
    if (/private_key|signature|tx_hash|message/.test(name)) specific.push(tag('weird_hex', fc.constantFrom(...WEIRD_HEX)));
    if (name === 'mnemonic') specific.push(tag('weird_mnemonic', fc.constantFrom(...WEIRD_MNEMONICS)));
    if (name === 'typed_data') specific.push(tag('weird_typed_data', this.weirdTypedData()), tag('weird_typed_data', this.weirdTypedData()));
    if (name === 'encrypted_json') specific.push(tag('weird_keystore', this.weirdKeystore()), tag('weird_keystore', this.weirdKeystore()));
    if (name === 'cursor') specific.push(tag('weird_cursor', this.weirdCursor()), tag('weird_cursor', this.weirdCursor()));
    if (/(^|_)id$/.test(name)) specific.push(tag('bad_id', fc.constantFrom(...badIds(w.approvalIds[0]!), ...badIds(w.txIds[0]!))));
    if (/params|items|recipients|quiet_hours|allowed_|denied_/.test(name)) specific.push(tag('weird_nested', this.weirdNested()));
    if (/limit|num_words|account_index|seconds|max_runs|chains/.test(name)) specific.push(tag('nasty_number', fc.constantFrom<unknown>(...NASTY_NUMBERS, ...RAW_NUMBERS.map((n) => new RawJson(n, n)))));
    // The kinds that fit the field's meaning weigh as much as all the generic ones together.
    const arb = fc.oneof(...generic.map((a) => ({ arbitrary: a, weight: 1 })), ...specific.map((a) => ({ arbitrary: a, weight: Math.ceil(generic.length / specific.length) })));
    this.#nasty.set(name, arb);
    return arb;
  }

  /** Typed data that is almost EIP-712: recursive or unknown types, huge arrays, bad domains. */
  weirdTypedData(): fc.Arbitrary<unknown> {
    const w = this.w;
    const base = w.typedData as { types: Record<string, unknown>; domain: Record<string, unknown>; message: Record<string, unknown>; primaryType: string };
    const variants: unknown[] = [
      { types: { A: [{ name: 'a', type: 'A' }] }, primaryType: 'A', domain: {}, message: { a: { a: {} } } },
      { types: { A: [{ name: 'b', type: 'B' }], B: [{ name: 'a', type: 'A' }] }, primaryType: 'A', domain: {}, message: { b: { a: {} } } },
      { ...base, types: { ...base.types, Mail: [{ name: 'x', type: 'uint999' }] }, message: { x: 1 } },
      { ...base, types: { ...base.types, Mail: [{ name: 'x', type: 'bytes33' }] }, message: { x: '0x00' } },
      { ...base, types: { ...base.types, Mail: [{ name: 'x', type: 'string[99999999]' }] }, message: { x: ['a'] } },
      { ...base, types: { ...base.types, Mail: [{ name: 'x', type: `uint256${'[]'.repeat(500)}` }] }, message: { x: [] } },
      { ...base, types: { ...base.types, Mail: [{ name: 'x', type: 'uint256[]' }] }, message: { x: Array(20_000).fill('1') } },
      { ...base, types: { ...base.types, Mail: [{ name: 'x', type: 'uint8' }] }, message: { x: 256 } },
      { ...base, types: { ...base.types, Mail: [{ name: 'x', type: 'int8' }] }, message: { x: '-129' } },
      { ...base, types: { ...base.types, Mail: [{ name: 'x', type: 'address' }] }, message: { x: lookalike(w.signer, 'cyrillic', 3) } },
      { ...base, primaryType: 'Nope' },
      { ...base, primaryType: 'EIP712Domain' },
      { ...base, domain: { ...base.domain, chainId: -1 } },
      { ...base, domain: { ...base.domain, chainId: 2 ** 64 } },
      { ...base, domain: { ...base.domain, chainId: `0x${'f'.repeat(64)}` } },
      { ...base, domain: { ...base.domain, chainId: 'abc' } },
      { ...base, domain: { ...base.domain, chainId: new RawJson('1e400', '1e400') } },
      { ...base, domain: { ...base.domain, foo: 'bar' } },
      { ...base, domain: { ...base.domain, verifyingContract: lookalike(w.signer, 'fullwidth', 5) } },
      { ...base, message: {} },
      { ...base, types: [] },
      { ...base, types: 'Mail' },
      { ...base, types: { ...base.types, '': [] } },
      { types: {}, primaryType: '', domain: {}, message: {} },
      'not json',
      '{',
      `\ufeff${JSON.stringify(base)}`,
      JSON.stringify({ ...base, primaryType: 'Nope' }),
      `${JSON.stringify(base)}garbage`,
    ];
    return fc.constantFrom(...variants);
  }

  /** Keystores with bad or oversized key-derivation parameters (never an accepted expensive one). */
  weirdKeystore(): fc.Arbitrary<unknown> {
    // ethers writes `Crypto`; these variants use geth's `crypto`.
    const { Crypto, ...rest } = JSON.parse(this.w.keystore) as { Crypto: { kdfparams: Record<string, unknown> } & Record<string, unknown> } & Record<string, unknown>;
    const ks = { ...rest, crypto: Crypto };
    const withKdf = (p: Record<string, unknown>) => ({ ...ks, crypto: { ...ks.crypto, kdfparams: { ...ks.crypto.kdfparams, ...p } } });
    const withCrypto = (p: Record<string, unknown>) => ({ ...ks, crypto: { ...ks.crypto, ...p } });
    const variants: unknown[] = [
      withKdf({ n: 2 ** 30 }), withKdf({ n: 3 }), withKdf({ n: 0 }), withKdf({ n: -1024 }), withKdf({ n: 'abc' }), withKdf({ n: 1e308 }), withKdf({ n: new RawJson('1e400', '1e400') }),
      withKdf({ r: 2 ** 20 }), withKdf({ p: 2 ** 20 }), withKdf({ r: 0 }), withKdf({ dklen: 0 }), withKdf({ dklen: 1 }), withKdf({ dklen: 64 }), withKdf({ dklen: 1e6 }), withKdf({ salt: 'zz' }), withKdf({ salt: '' }),
      withCrypto({ kdf: 'pbkdf2', kdfparams: { c: 2_000_000, dklen: 32, prf: 'hmac-sha256', salt: 'ab'.repeat(16) } }),
      withCrypto({ kdf: 'pbkdf2', kdfparams: { c: 1, dklen: 32, prf: 'hmac-md5', salt: 'ab'.repeat(16) } }),
      withCrypto({ kdf: 'argon2' }), withCrypto({ cipher: 'aes-256-gcm' }), withCrypto({ cipherparams: { iv: 'ab' } }), withCrypto({ ciphertext: 'abc' }), withCrypto({ mac: '00'.repeat(32) }),
      { ...ks, version: 4 }, { ...ks, version: '3' }, { ...ks, version: -3 }, { ...ks, crypto: undefined }, { ...ks, crypto: null, Crypto: ks.crypto }, { ...ks, crypto: [] },
      { ...ks, address: lookalike(this.w.signer, 'cyrillic', 1) }, `${this.w.keystore}garbage`, this.w.keystore.replace('"version":3', '"version":3,"version":4'), new Huge(20_000, '{'), '{}', '[]', 'null',
    ];
    return fc.constantFrom(...variants);
  }

  /** Forged pagination cursors: base64url JSON with out-of-range dates, uuid look-alikes, wrong shapes. */
  weirdCursor(): fc.Arbitrary<unknown> {
    const id = this.w.walletIds[0]!;
    return fc.oneof(
      // Mostly a real id, so that the date is what gets checked (the id is checked first).
      fc.tuple(fc.constantFrom(...WEIRD_DATES, new Date().toISOString()), fc.oneof({ weight: 3, arbitrary: fc.constant(id) }, { weight: 1, arbitrary: fc.constantFrom(...badIds(id)) })).map(([d, i]) => cursorOf([d, i])),
      fc.constantFrom<unknown>(cursorOf({ a: 1 }), cursorOf([1, 2]), cursorOf([null, null]), cursorOf('x'), cursorOf([new Date().toISOString()]), cursorOf([new Date().toISOString(), id, 'extra']), '!!!', '====', 'a', '%00', `${this.w.cursors[0]}x`, this.w.cursors[0]!.slice(1)),
    );
  }

  /** Nested values of the wrong shape for object and list fields. */
  weirdNested(): fc.Arbitrary<unknown> {
    const w = this.w;
    return fc.constantFrom<unknown>(
      { [lookalike(w.fresh[0]!, 'cyrillic', 0)]: '0.001' },
      { [w.fresh[0]!]: '0.0000000000000000001' },
      { [w.fresh[0]!]: -1 },
      Object.fromEntries(Array.from({ length: 500 }, () => [`0x${randomBytes(20).toString('hex')}`, '0.000001'])),
      Array.from({ length: 1000 }, () => w.fresh[0]),
      [w.fresh[0], w.fresh[0]],
      [{ address: lookalike(w.fresh[0]!, 'zwj', 4) }],
      [{ address: w.fresh[0], label: '\u0000' }],
      [{ to_address: w.fresh[0], amount_eth: '1e-30' }],
      { to_address: w.fresh[0], amount_eth: '0.001', interval_seconds: 0 },
      { to_address: w.fresh[0], amount_eth: '0.001', interval_seconds: 1e21 },
      { to_address: w.fresh[0], amount_eth: '0.001', cron: '0 0 31 2 *' },
      { to_address: w.fresh[0], amount_eth: '0.001', interval_seconds: 60, cron: '* * * * *' },
      { to_address: w.fresh[0], amount_eth: '0.001', run_at: '-271821-04-20T00:00:00.000Z' },
      { to_address: w.fresh[0], amount_eth: '0.001', interval_seconds: 60, start_at: '+275760-09-13T00:00:00.000Z' },
      { to_address: w.fresh[0], amount_eth: '0.001', interval_seconds: 60, max_runs: 2 ** 64 },
      { start: '22:00', end: '22:00', timezone: 'Mars/Olympus', action: 'deny' },
      { start: '25:00', end: '-1:00' },
      { __proto__: { polluted: true }, to_address: w.fresh[0] },
    );
  }

  /** 1-3 corruptions of an object with `keys` (its schema's fields): set a field to a malformed value, drop one, add one. */
  corruptions(keys: string[]): fc.Arbitrary<Corruption[]> {
    const fields = keys.length ? keys : ['x'];
    const set = fc.oneof(...fields.map((k) => this.nasty(k).map((t): Corruption => ({ op: 'set', key: k, tag: t.tag, value: t.value }))));
    const drop = fc.constantFrom(...fields).map((k): Corruption => ({ op: 'delete', key: k }));
    const extraKeys = ['extra', '__proto__', 'constructor', 'prototype', '', ` ${fields[0]}`, `${fields[0]}\u0000`, fields[0]!.toUpperCase(), '\ud800', 'a'.repeat(1000), '$where', 'toString'];
    const extra = fc.tuple(fc.constantFrom(...extraKeys), fc.constantFrom<unknown>(1, 'x', null, { polluted: true }, [])).map(([k, v]): Corruption => ({ op: 'extra', key: k, value: v }));
    return fc.array(fc.oneof({ weight: 8, arbitrary: set }, { weight: 1, arbitrary: drop }, { weight: 1, arbitrary: extra }), { minLength: 1, maxLength: 3 });
  }

  /** A tool call: well-formed (now and then), corrupted (mostly), or with arguments that are not an object at all. */
  toolCall(tool: Tool): fc.Arbitrary<{ call: ToolCallInput; intent: Intent }> {
    const schema = tool.inputSchema as Schema;
    const keys = Object.keys(schema.properties ?? {});
    const valid = this.object(schema);
    return fc.oneof(
      { weight: 2, arbitrary: valid.map((args) => ({ call: { name: tool.name, args, tags: ['valid'] }, intent: 'valid' as const })) },
      { weight: 16, arbitrary: fc.tuple(valid, this.corruptions(keys)).map(([args, cs]) => ({ call: applyCorruptions(tool.name, args, cs), intent: 'corrupt' as const })) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom<unknown>(undefined, null, [], 'x', 1, true, [{}], new RawJson(deepText(5000, 'array'), 'array nested 5000 deep'), new RawJson(deepText(40, 'object'), 'object nested 40 deep'))
          .map((args) => ({ call: { name: tool.name, args, tags: [args === undefined ? 'no_arguments' : 'arguments_not_object'] }, intent: args === undefined ? ('valid' as const) : ('corrupt' as const) })),
      },
    );
  }

  /** A tool name that is no tool's. */
  unknownTool(): fc.Arbitrary<{ call: ToolCallInput; intent: Intent }> {
    const names = ['nope', 'SPIN_UP_WALLET', 'spin_up_wallet\u0000', ' list_wallets', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'list_wallets\ud800', 'a'.repeat(5000), 'list_wallets/../execute_transfer'];
    return fc.constantFrom(...names).map((name) => ({ call: { name, args: {}, tags: ['unknown_tool'] }, intent: 'corrupt' as const }));
  }

  /** MCP cases: single calls and JSON-RPC batches over fetch, single calls through the SDK client over both transports. */
  mcpCase(tools: Tool[]): fc.Arbitrary<McpCase> {
    const call = fc.oneof({ weight: 30, arbitrary: fc.oneof(...tools.map((t) => this.toolCall(t))) }, { weight: 1, arbitrary: this.unknownTool() });
    const key = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...GOOD_KEYS) }, { weight: 1, arbitrary: fc.constantFrom<KeyName>('viewer', 'revoked', 'garbage', 'none') });
    const version = fc.constantFrom(...PROTOCOL_VERSIONS);
    const shape = (via: McpCase['via'], calls: Array<{ call: ToolCallInput; intent: Intent }>, k: KeyName, v: string): McpCase => printable({
      surface: 'mcp',
      via,
      key: via === 'fetch' ? k : k === 'agent' ? 'agent' : 'owner',
      protocolVersion: v,
      calls: calls.map((c) => c.call),
      intent: calls.every((c) => c.intent === 'valid') ? 'valid' : 'corrupt',
    } satisfies McpCase);
    return fc.oneof(
      { weight: 10, arbitrary: fc.tuple(call, key, version).map(([c, k, v]) => shape('fetch', [c], k, v)) },
      { weight: 4, arbitrary: fc.tuple(fc.array(call, { minLength: 2, maxLength: 6 }), key, version).map(([cs, k, v]) => shape('fetch', cs, k, v)) },
      { weight: 2, arbitrary: fc.tuple(call, fc.constantFrom<KeyName>('owner', 'agent')).map(([c, k]) => shape('streamable', [c], k, '')) },
      { weight: 2, arbitrary: fc.tuple(call, fc.constantFrom<KeyName>('owner', 'agent')).map(([c, k]) => shape('sse', [c], k, '')) },
    );
  }

  /** Malformed JSON-RPC: bodies that are not JSON-RPC, broken envelopes, oversized batches, wrong headers. */
  rawMcpCase(): fc.Arbitrary<RawMcpCase> {
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    const bodies = [
      '', '{', '[]', 'null', '1', '"x"', '{"jsonrpc":"2.0"', '[{}]', '{}', `\ufeff${JSON.stringify(list)}`, `${JSON.stringify(list)}\u0000`, `${JSON.stringify(list)}${JSON.stringify(list)}`,
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_wallets","arguments":{"a":"\u0000"}}}', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_wallets","arguments":{"a":"\\ud800"}}}',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_wallets","arguments":{"limit":1,"limit":"x"}}}', '{"__proto__":{"jsonrpc":"2.0"},"id":1,"method":"ping"}',
    ];
    const envelope = fc.record({
      jsonrpc: fc.constantFrom<unknown>('2.0', '2.0', '1.0', 2, null, undefined),
      id: fc.constantFrom<unknown>(1, 'a', null, undefined, {}, [], 1.5, -1, 2 ** 64, 'x\u0000', new RawJson('1e400', '1e400'), new Huge(5000, 'i')),
      method: fc.constantFrom<unknown>('tools/call', 'tools/call', 'tools/list', 'ping', 'initialize', 'resources/list', 'prompts/list', 'completion/complete', 'logging/setLevel', 'notifications/initialized', 'nope', '', 'tools/call\u0000', '__proto__', 1),
      params: fc.constantFrom<unknown>(undefined, null, [], 'x', 1, {}, { name: 'list_wallets' }, { name: 1 }, { name: 'list_wallets', arguments: [] }, { name: 'list_wallets', _meta: 'x' }, { name: 'list_wallets', _meta: { progressToken: {} } },
        { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } }, { level: 'debug\u0000' }, new RawJson(deepText(3000, 'object'), 'object nested 3000 deep')),
    });
    const headers = fc.constantFrom<RawMcpCase['headers']>({}, {}, {}, { accept: null }, { accept: 'application/json' }, { accept: 'text/html' }, { contentType: null }, { contentType: 'text/plain' }, { contentType: 'application/x-www-form-urlencoded' }, { contentType: 'application/json; charset=utf-16' }, { protocolVersion: '1999-01-01' }, { protocolVersion: '' }, { protocolVersion: 'x\u00e9' });
    const key = fc.constantFrom<KeyName>('owner', 'owner', 'agent', 'garbage', 'none');
    const make = (body: unknown, tag: string) => fc.tuple(headers, key).map(([h, k]): RawMcpCase => printable({ surface: 'mcp-raw', key: k, body, headers: h, tag, intent: 'corrupt' }));
    return fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...bodies).chain((b) => make(b, 'not_json_rpc')) },
      { weight: 6, arbitrary: envelope.chain((e) => make(e, 'bad_envelope')) },
      { weight: 1, arbitrary: fc.integer({ min: 101, max: 130 }).chain((n) => make(Array.from({ length: n }, (_, i) => ({ ...list, id: i })), 'batch_over_100')) },
      { weight: 1, arbitrary: fc.constantFrom(1_100_000, 3_000_000).chain((n) => make({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_wallets', arguments: { cursor: new Huge(n, 'a') } } }, 'oversized')) },
    );
  }

  /** REST cases for `route`: any key or session, malformed path parameters, query strings, bodies and content types. */
  restCase(route: Route): fc.Arbitrary<RestCase> {
    const w = this.w;
    const ids = route.template.startsWith('/api/wallets') ? w.walletIds : route.template.startsWith('/api/strategies') ? w.strategyIds : route.template.startsWith('/api/approvals') ? w.approvalIds : w.keyIds;
    const real = ids[0] ?? randomUUID();
    const validSegment = fc.constantFrom(...ids, randomUUID()).map((v) => encodeURIComponent(v));
    const badSegment = fc.oneof(
      fc.constantFrom(...badIds(real)).map((v) => encodeURIComponent(v)),
      fc.constantFrom('%00', 'a%00b', '%ED%A0%80', '%ED%B0%80', '%FF', '%FF%FE', '%C0%AF', '%E2%80%AE', '%2e%2e', '%2F', '..%2F..%2Fapi', '%', '%G0', `${real}%20`, `%20${real}`, `${real};x=1`, '~', '*'),
      fc.integer({ min: 100, max: 8000 }).map((n) => 'a'.repeat(n)),
    );
    const segments = fc.tuple(...route.params.map(() => fc.oneof({ weight: 1, arbitrary: validSegment }, { weight: 2, arbitrary: badSegment })));
    const validSegments = fc.tuple(...route.params.map(() => validSegment));
    const fill = (segs: string[]) => {
      let i = 0;
      return route.template.replace(/\{\w+\}/g, () => segs[i++] ?? '');
    };
    // Query strings: the route's own parameters (well-formed or not), unknown ones, duplicates, bad encodings.
    const validQuery = route.query.length
      ? fc.subarray(route.query).chain((qs) => (qs.length ? fc.tuple(...qs.map((q) => this.valid(q.schema, q.name).map((v) => `${q.name}=${encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v))}`))) : fc.constant([] as string[]))).map((parts) => parts.join('&'))
      : fc.constant('');
    const names = [...route.query.map((q) => q.name), 'limit', 'cursor', 'x'];
    const badValue = fc.oneof(
      fc.constantFrom('', '0', '-1', '201', '1e2', '1.5', '0x10', '%205', '%EF%BC%95', 'NaN', 'Infinity', '%00', 'a%00', '%ED%A0%80', '%FF', '%', '%E2%80%AE', 'true', '[]', '%7B%7D', 'pending%00', 'PENDING', 'jsonl%0D%0A', 'csv;', 'x'.repeat(5000)),
      this.weirdCursor().map((c) => encodeURIComponent(String(c))),
      fc.constantFrom(...badIds(real)).map((v) => encodeURIComponent(v)),
    );
    const badPair = fc.oneof(
      { weight: 10, arbitrary: fc.tuple(fc.constantFrom(...names), badValue).map(([k, v]) => `${k}=${v}`) },
      { weight: 4, arbitrary: fc.constantFrom('limit=1&limit=abc', 'limit[]=1', 'limit[a]=1', '__proto__=1', 'constructor=x', '%00=1', 'limit%00=1', '=1', '&&&', '?', '%ED%A0%80=x', 'status=pending&status=approved', 'format=csv&format=jsonl') },
      // A request line over Node's 16 KiB header limit: Node's parser answers 431 before the app.
      { weight: 1, arbitrary: fc.constant(`x=${'y'.repeat(20_000)}`) },
    );
    const badQuery = fc.array(badPair, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('&'));
    const hasBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method);
    const bodySchema = route.body;
    const validBody: fc.Arbitrary<RestBody> = bodySchema ? this.object(bodySchema).map((value) => ({ kind: 'json', value })) : hasBody ? fc.constantFrom<RestBody>({ kind: 'none' }, { kind: 'json', value: {} }) : fc.constant<RestBody>({ kind: 'none' });
    const keys = bodySchema ? Object.keys(this.resolve(bodySchema).properties ?? {}) : ['dry_run', 'note'];
    const badBody: fc.Arbitrary<RestBody> = hasBody
      ? fc.oneof(
          { weight: 6, arbitrary: fc.tuple(bodySchema ? this.object(bodySchema) : fc.constant({}), this.corruptions(keys)).map(([v, cs]): RestBody => ({ kind: 'json', value: applyCorruptions('', v, cs).args })) },
          { weight: 2, arbitrary: fc.constantFrom('', '{', 'null', '[]', '[1,2]', '"str"', '1e999', 'true', '{"a":}', '\ufeff{}', '{}{}', '{"a":"\u0000"}', '{"__proto__":{"admin":true}}', 'a=1&b=2', '<xml/>').map((text): RestBody => ({ kind: 'text', text })) },
          { weight: 1, arbitrary: fc.constantFrom(3000, 100_000).map((d): RestBody => ({ kind: 'json', value: new RawJson(() => deepText(d, 'mixed'), `mixed nested ${d} deep`) })) },
          { weight: 1, arbitrary: fc.constantFrom(9000, 1_100_000, 2_000_000).map((n): RestBody => ({ kind: 'json', value: { pad: new Huge(n, 'a') } })) },
          { weight: 1, arbitrary: fc.constantFrom(1_100_000).map((n): RestBody => ({ kind: 'text', text: new Huge(n, '{') })) },
        )
      : fc.constant<RestBody>({ kind: 'none' });
    const contentType = fc.oneof(
      { weight: 8, arbitrary: fc.constant<string | null>('application/json') },
      { weight: 2, arbitrary: fc.constantFrom<string | null>(null, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'APPLICATION/JSON', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/json-patch+json', '*/*', 'application/jsonx') },
    );
    const auth = fc.oneof(
      { weight: 10, arbitrary: fc.constantFrom<KeyName>(...KEY_NAMES).map((k): RestAuth => ({ kind: 'bearer', key: k })) },
      { weight: 2, arbitrary: fc.tuple(fc.nat(w.sessions.length - 1), fc.constantFrom<'own' | 'evil' | 'none'>('own', 'own', 'evil', 'none')).map(([s, o]): RestAuth => ({ kind: 'cookie', session: s, origin: o })) },
      { weight: 1, arbitrary: fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', `Bearer ${'a'.repeat(8000)}`, `Bearer vp_00000000_${'A'.repeat(43)}`, 'Bearer vp_', 'Token x', `Bearer ${w.keys.owner} extra`, `Bearer\t${w.keys.owner}`, `bearer ${w.keys.owner}`, `Bearer ${w.keys.owner}\u00e9`).map((value): RestAuth => ({ kind: 'header', value })) },
    );
    const make = (intent: Intent, segs: string[], query: string, a: RestAuth, body: RestBody, ct: string | null, tags: string[]): RestCase => printable({
      surface: 'rest', route: route.key, method: route.method, path: fill(segs), query, auth: a, body, contentType: body.kind === 'none' && ct === 'application/json' && route.method === 'GET' ? null : ct, tags, intent,
    } satisfies RestCase);
    const goodAuth = fc.constantFrom<KeyName>('owner', 'owner', 'admin', 'operator', 'owner2').map((k): RestAuth => ({ kind: 'bearer', key: k }));
    return fc.oneof(
      { weight: 1, arbitrary: fc.tuple(validSegments, validQuery, goodAuth, validBody).map(([s, q, a, b]) => make('valid', s, q, a, b, 'application/json', ['valid'])) },
      {
        weight: 6,
        arbitrary: fc.tuple(fc.oneof(validSegments, segments), fc.oneof(validQuery, badQuery), auth, fc.oneof({ weight: 1, arbitrary: validBody }, { weight: 3, arbitrary: badBody }), contentType).map(([s, q, a, b, ct]) =>
          make('corrupt', s, q, a, b, ct, ['rest_corrupt']),
        ),
      },
    );
  }
}

/** A short rendering of a case, for failure messages and fast-check's counterexamples. */
function caseText(c: Case): string {
  const cut = (text: string, n: number) => (text.length > n ? `${text.slice(0, n)}…(${text.length} chars)` : text);
  if (c.surface === 'mcp') return `${c.via}/${c.key} ${c.calls.map((x) => `${show(x.name, 40)}(${show(x.args, 200)})`).join(', ')}`;
  if (c.surface === 'mcp-raw') return `raw/${c.key} ${show(c.headers)} ${show(c.body, 200)}`;
  return `${c.method} ${cut(c.path, 120)}${c.query ? `?${cut(c.query, 120)}` : ''} ${show(c.auth, 60)} ct=${c.contentType} body=${show(c.body, 200)}`;
}

/** Makes fast-check print `c` as {@link caseText} (counterexamples stay readable with megabyte inputs). */
function printable<T extends Case>(c: T): T {
  Object.defineProperty(c, fc.toStringMethod, { value: () => caseText(c), enumerable: false });
  return c;
}

/** Applies corruptions to a copy of `args`; the tags name what was done. */
function applyCorruptions(name: string, args: Record<string, unknown>, cs: Corruption[]): ToolCallInput & { args: Record<string, unknown> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) setKey(out, k, v);
  const tags: string[] = [];
  for (const c of cs) {
    if (c.op === 'set') {
      setKey(out, c.key, c.value);
      tags.push(c.tag);
    } else if (c.op === 'delete') {
      delete out[c.key];
      tags.push('missing_field');
    } else {
      setKey(out, c.key, c.value);
      tags.push('unknown_field');
    }
  }
  return { name, args: out, tags };
}

// ---------------------------------------------------------------------------------------------
// Sending and judging

/** What one case did: whether it was refused, how many inputs it carried, what broke. */
interface Outcome {
  refused: boolean;
  /** Some input of the case succeeded (a success may write rows). */
  succeeded: boolean;
  inputs: number;
  violations: string[];
  /** Codes seen (`INVALID_INPUT`, `rpc:-32602`, `http:431`, `ok`). */
  codes: string[];
}

/** An HTTP answer, or why there was none. */
type Answer = { status: number; text: string; headers: Headers } | { error: string };

/** Sends one request; never throws (a reset or a timeout is an answer too). */
async function send(url: string, init: RequestInit): Promise<Answer> {
  try {
    const res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(60_000) });
    return { status: res.status, text: await res.text(), headers: res.headers };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { error: `${(err as Error).message}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}` };
  }
}

/**
 * Sends one request on a socket of its own (node:http, no keep-alive pool): for requests the
 * server answers and then closes (a body over the limit, 413 with `Connection: close`; a request
 * line over 16 KiB, Node's 431), so that closing cannot race another request for a pooled socket.
 * Errors after the answer (the server closing while the body is still being written) are ignored.
 */
function sendAlone(url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve) => {
    let answered = false;
    const req = http.request({ host: u.hostname, port: u.port, method: init.method, path: `${u.pathname}${u.search}`, agent: false, headers: { ...init.headers, ...(init.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(init.body)) } : {}) } }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers });
        req.destroy();
      });
    });
    req.setTimeout(60_000, () => req.destroy(new Error('timed out')));
    req.on('error', (err) => {
      if (!answered) resolve({ error: `${err.message} (${(err as NodeJS.ErrnoException).code ?? ''})` });
    });
    req.end(init.body);
  });
}

/** Whether a request may make the server close its connection (see {@link sendAlone}). */
function closesConnection(url: string, bodyBytes: number, limit: number): boolean {
  return url.length > 8000 || bodyBytes > limit;
}

/** `decodeURIComponent`, or the text itself when it is not valid percent-encoding. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Checks a refusal's code: one of ERROR_CODES, not INTERNAL. */
function judgeCode(code: unknown, where: string, out: Outcome): void {
  out.codes.push(typeof code === 'string' ? code : `no-code:${String(code)}`);
  if (typeof code !== 'string' || !CODES.has(code)) out.violations.push(`${where}: refused without a stable code (${show(code, 80)})`);
  else if (code === 'INTERNAL') out.violations.push(`${where}: INTERNAL`);
}

/**
 * Judges one JSON-RPC response. `expectResult`: a well-formed call of a known tool, which must get
 * a tool result (success, or isError with a code), never a JSON-RPC error. `sdkMethod`: the
 * request was for a method the SDK itself serves (initialize, ping, logging/setLevel, …), whose
 * params it checks and, when they fail its schema, answers `-32603` with the zod issues
 * (modelcontextprotocol/typescript-sdk#2284, open): counted apart, not a failure. `tools/call` is
 * ours (server/mcp/tool.ts) and answers such params `-32602`.
 */
function judgeRpc(msg: unknown, where: string, expectResult: boolean, out: Outcome, sdkMethod = false): void {
  const m = msg as { result?: CallToolResult; error?: { code?: unknown; message?: string } } | null;
  if (m?.error) {
    out.refused = true;
    if (sdkMethod && m.error.code === -32603 && /^\s*\[/.test(m.error.message ?? '')) {
      out.codes.push('rpc:-32603 (SDK params check, typescript-sdk#2284)');
      return;
    }
    out.codes.push(`rpc:${String(m.error.code)}`);
    if (expectResult) out.violations.push(`${where}: a well-formed tool call got a JSON-RPC error ${String(m.error.code)} ${show(m.error.message, 200)} instead of a tool result`);
    else if (typeof m.error.code !== 'number' || !PROTOCOL_CODES.has(m.error.code)) out.violations.push(`${where}: JSON-RPC error ${String(m.error.code)} (${show(m.error.message, 200)})`);
    return;
  }
  if (m?.result && typeof m.result === 'object') {
    judgeToolResult(m.result, where, out);
    return;
  }
  out.violations.push(`${where}: not a JSON-RPC response: ${show(msg, 200)}`);
}

/** Judges a tool result: isError needs `_meta["vaultpilot/error"].code`. */
function judgeToolResult(r: CallToolResult, where: string, out: Outcome): void {
  if (r.isError) {
    out.refused = true;
    judgeCode((r._meta?.['vaultpilot/error'] as { code?: unknown } | undefined)?.code, where, out);
  } else {
    out.succeeded = true;
    out.codes.push('ok');
  }
}

/** Judges a 5xx: only 503 BUSY with retry_after_seconds is allowed. */
function judge5xx(status: number, json: unknown, where: string, out: Outcome): void {
  const e = (json as { error?: { code?: unknown; details?: { retry_after_seconds?: unknown } } } | undefined)?.error;
  if (status === 503 && e?.code === 'BUSY' && typeof e.details?.retry_after_seconds === 'number') {
    out.codes.push('BUSY');
    return;
  }
  out.violations.push(`${where}: HTTP ${status} ${show(json, 300)}`);
}

// ---------------------------------------------------------------------------------------------

describe('fuzz: every MCP tool and every REST route with generated malformed input', () => {
  let stack: Stack;
  let worker: RunningWorker | undefined;
  const sink = new LogSink();
  let w: World;
  let tools: Tool[];
  let routes: Route[];
  let gen: Generators;
  const clients = new Map<string, Client>();
  const writeTables: string[] = [];

  let dir: string | undefined;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'vp-fuzz-'));
    const policyFile = path.join(dir, 'vaultpilot.yml');
    writeFileSync(
      policyFile,
      [
        'rate_limits:',
        '  default: {max_calls: 1000000, window_seconds: 60}',
        '  tools:',
        '    request_faucet_funds: {max_calls: 500, window_seconds: 60}',
        'policy:',
        '  max_tx_eth: "0.5"',
        '  spend_cap_24h_eth: "5"',
        '  approval_threshold_eth: "0.05"',
        '  denied_destinations:',
        '    - {address: "0x000000000000000000000000000000000000dEaD", label: burn}',
        '',
      ].join('\n'),
    );
    const txConfirmCode = `confirm-${randomBytes(8).toString('hex')}`;
    const exportCode = `export-${randomBytes(8).toString('hex')}`;
    stack = await startStack({
      worker: false,
      logs: sink,
      env: { POLICY_FILE: policyFile, MAX_TX_ETH: '0.02', TX_CONFIRM_CODE: txConfirmCode, ALLOW_KEY_EXPORT: '1', EXPORT_CODE: exportCode, TX_CONFIRMATIONS: '1' },
    });
    // The worker on connections named WORKER_APP, so the write log tells its writes apart.
    const workerUrl = new URL(stack.databaseUrl);
    workerUrl.searchParams.set('application_name', WORKER_APP);
    worker = await startWorker({ ...stack.config, databaseUrl: workerUrl.toString() }, createLogger('worker', 'warn', sink));
    const db = stack.server.ctx.db;

    // Keys of every role, one scoped, one revoked, another tenant's; sacrificial ones the fuzzer may revoke.
    const admin = await createKey(stack, 'admin', 'fz-admin');
    const operator = await createKey(stack, 'operator', 'fz-operator');
    const viewer = await createKey(stack, 'viewer', 'fz-viewer');
    const agent = await createKey(stack, 'agent', 'fz-agent');
    const owner2 = await createKey(stack, 'owner', 'fz-owner2');
    const scoped = await createKey(stack, 'agent', 'fz-scoped');
    await db.updateTable('api_keys').set({ allowed_wallets: ['fz-scoped'], allowed_tools: ['query_balance', 'simulate_transfer', 'execute_transfer', 'sign_message', 'list_wallets', 'get_policy'] }).where('id', '=', scoped.principal.keyId).execute();
    const revoked = await createKey(stack, 'operator', 'fz-revoked');
    await db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', revoked.principal.keyId).execute();
    const sacrificial = [await createKey(stack, 'viewer', 'fz-sacrificial-1'), await createKey(stack, 'agent', 'fz-sacrificial-2'), await createKey(stack, 'operator', 'fz-sacrificial-3')];
    const tenantB = await db.insertInto('tenants').values({ name: 'fz-tenant-b' }).returning('id').executeTakeFirstOrThrow();
    const bOwner = await createKey(stack, 'owner', 'fz-b-owner', tenantB.id);
    const keys: Record<KeyName, string | null> = {
      owner: stack.adminKey, admin: admin.key, operator: operator.key, viewer: viewer.key, agent: agent.key, scoped: scoped.key, owner2: owner2.key, tenantB: bOwner.key, revoked: revoked.key,
      garbage: `vp_deadbeef_${randomBytes(32).toString('base64url')}`, none: null,
    };

    // Wallets (one funded), a transaction, strategies, pending approvals, a wallet policy.
    const owner = await connectMcp(stack.url, stack.adminKey, 'streamable');
    const agents = ['fz-funded', 'fz-empty', 'fz-other', 'fz-scoped'];
    const wallets: Array<{ id: string; address: string }> = [];
    for (const a of agents) wallets.push((await callOk<{ wallet: { id: string; address: string } }>(owner, 'spin_up_wallet', { agent_id: a })).wallet);
    await callOk(owner, 'request_faucet_funds', { agent_id: 'fz-funded', amount_eth: '8' });
    await callOk(owner, 'request_faucet_funds', { agent_id: 'fz-scoped', amount_eth: '1' });
    const bClient = await connectMcp(stack.url, bOwner.key, 'streamable');
    await callOk(bClient, 'spin_up_wallet', { agent_id: 'fz-funded' });
    await bClient.close();
    const fresh = [freshAddress(), freshAddress(), freshAddress()];
    const sent = await callOk<{ transaction: { id: string; tx_hash: string } }>(owner, 'execute_transfer', { agent_id: 'fz-funded', to_address: fresh[0], amount_eth: '0.001' });
    const labels = ['fz-dca-0', 'fz-dca-1', 'fz-dca-2', 'fz-dca-3'];
    const strategyIds: string[] = [];
    for (const label of labels) {
      strategyIds.push((await callOk<{ strategy: { id: string } }>(owner, 'create_strategy_dca', { label, agent_id: 'fz-funded', to_address: fresh[1], amount_eth: '0.0001', interval_seconds: 86_400, start: false })).strategy.id);
    }
    strategyIds.push((await callOk<{ strategy: { id: string } }>(owner, 'create_strategy_dca', { label: 'fz-dca-active', agent_id: 'fz-funded', to_address: fresh[1], amount_eth: '0.0001', interval_seconds: 86_400, start_at: new Date(Date.now() + 86_400_000).toISOString() })).strategy.id);
    labels.push('fz-dca-active');
    const approvalIds: string[] = [];
    for (let i = 0; i < 8; i++) approvalIds.push((await pendingApproval(stack, agent.principal, wallets[0]!.id, { to: fresh[2]!, eth: '0.06' })).approval_id);
    const policy = await fetch(`${stack.url}/api/wallets/${wallets[2]!.id}/policy`, { method: 'PUT', headers: { Authorization: `Bearer ${stack.adminKey}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ max_tx_eth: '0.3' }) });
    assert.equal(policy.status, 200, await policy.text());

    // Cursors of real pages.
    const cursors: string[] = [];
    cursors.push((await callOk<{ next_cursor: string | null }>(owner, 'list_wallets', { limit: 1 })).next_cursor!);
    cursors.push((await callOk<{ next_cursor: string | null }>(owner, 'list_strategies', { limit: 1 })).next_cursor!);
    for (const p of ['/api/events?limit=1', '/api/approvals?limit=1']) {
      const r = (await (await fetch(`${stack.url}${p}`, { headers: { Authorization: `Bearer ${stack.adminKey}` } })).json()) as { next_cursor?: string | null };
      if (r.next_cursor) cursors.push(r.next_cursor);
    }

    // Session cookies (owner, operator, viewer).
    const sessions: string[] = [];
    for (const k of [stack.adminKey, operator.key, viewer.key]) {
      const r = await fetch(`${stack.url}/api/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ api_key: k }) });
      assert.equal(r.status, 200);
      const cookie = r.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
      sessions.push(cookie!.split(';')[0]!.slice(SESSION_COOKIE.length + 1));
    }

    // Secrets for the toolkit: a cheap keystore (scrypt n=2^10), typed data, signatures.
    const signer = Wallet.createRandom();
    const keystorePassword = 'fuzz keystore password';
    const keystore = encryptKeystoreJsonSync({ address: signer.address, privateKey: signer.privateKey }, keystorePassword, { scrypt: { N: 1024 } });
    const provider = chainProvider();
    const chainId = Number((await provider.getNetwork()).chainId);
    provider.destroy();
    const typedData = {
      types: { EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'chainId', type: 'uint256' }], Mail: [{ name: 'from', type: 'address' }, { name: 'contents', type: 'string' }] },
      primaryType: 'Mail',
      domain: { name: 'Fuzz', chainId },
      message: { from: signer.address, contents: 'hello' },
    };
    const { EIP712Domain: _domain, ...types } = typedData.types;
    tools = (await owner.listTools()).tools;
    await owner.close();

    w = {
      chainId,
      keys,
      agents: [...agents, 'fz-nobody', 'FZ-FUNDED'],
      addresses: [...fresh, ...wallets.map((x) => x.address), '0x000000000000000000000000000000000000dEaD'],
      fresh,
      walletIds: wallets.map((x) => x.id),
      strategyIds,
      labels,
      approvalIds,
      keyIds: sacrificial.map((k) => k.principal.keyId),
      txIds: [sent.transaction.id],
      txHashes: [sent.transaction.tx_hash],
      cursors,
      txConfirmCode,
      exportCode,
      privateKeys: [Wallet.createRandom().privateKey, Wallet.createRandom().privateKey.slice(2), Wallet.createRandom().privateKey],
      mnemonics: [Mnemonic.fromEntropy(randomBytes(16)).phrase, Mnemonic.fromEntropy(randomBytes(32)).phrase],
      keystore,
      keystorePassword,
      typedData,
      typedSignature: await signer.signTypedData(typedData.domain, types, typedData.message),
      message: 'hello',
      messageSignature: await signer.signMessage('hello'),
      signer: signer.address,
      toolNames: tools.map((t) => t.name),
      sessions,
    };

    // Routes: the OpenAPI document's and the router's.
    const doc = (await (await fetch(`${stack.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; schema: Schema }>; requestBody?: { content?: Record<string, { schema: Schema }> } }>>; components: { schemas: Record<string, Schema> } };
    gen = new Generators(w, doc.components.schemas);
    const byKey = new Map<string, Route>();
    for (const [template, ops] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(ops)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(m)) continue;
        const key = `${m.toUpperCase()} ${template}`;
        byKey.set(key, {
          key, method: m.toUpperCase(), template,
          params: [...template.matchAll(/\{(\w+)\}/g)].map((x) => x[1]!),
          query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema })),
          body: op.requestBody?.content?.['application/json']?.schema,
        });
      }
    }
    for (const r of buildApp(stack.server.ctx).app.routes) {
      if (r.method === 'ALL' || !r.path.startsWith('/api')) continue;
      const template = r.path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}').replace(/\/+$/, '');
      const key = `${r.method} ${template}`;
      if (!byKey.has(key)) byKey.set(key, { key, method: r.method, template, params: [...template.matchAll(/\{(\w+)\}/g)].map((x) => x[1]!), query: [], body: undefined });
    }
    routes = [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));

    // SDK clients over both transports, for the owner and the agent.
    for (const t of ['streamable', 'sse'] as const) for (const k of ['owner', 'agent'] as const) clients.set(`${t}:${k}`, await connectMcp(stack.url, keys[k]!, t));

    // The write log: a trigger on every business table notes each committed row write and whose connection made it.
    const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`.execute(db);
    writeTables.push(...tables.rows.map((r) => r.table_name).filter((t) => !REFUSAL_MAY_WRITE.has(t)));
    await sql`create table fuzz_writes (id bigserial primary key, tbl text not null, op text not null, app text not null)`.execute(db);
    await sql.raw(`create function fuzz_note_write() returns trigger language plpgsql as $$
      begin
        -- Authentication stamps last_used_at at most once a minute: bookkeeping, not a write of the input.
        if tg_op = 'UPDATE' and tg_nargs > 0 and (to_jsonb(new) - tg_argv[0]) = (to_jsonb(old) - tg_argv[0]) then return null; end if;
        insert into fuzz_writes (tbl, op, app) values (tg_table_name, tg_op, current_setting('application_name'));
        return null;
      end $$`).execute(db);
    for (const t of writeTables) {
      const arg = t === 'api_keys' ? `'last_used_at'` : '';
      await sql.raw(`create trigger fuzz_note after insert or update or delete on ${t} for each row execute function fuzz_note_write(${arg})`).execute(db);
    }
  });

  after(async () => {
    for (const c of clients.values()) await c.close().catch(() => undefined);
    await worker?.close();
    await stack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The newest write-log id. */
  async function writeMark(): Promise<string> {
    const r = await sql<{ m: string }>`select coalesce(max(id), 0)::text as m from fuzz_writes`.execute(stack.server.ctx.db);
    return r.rows[0]!.m;
  }

  /** The server's writes (table and operation) since `mark`; the worker's are left out. */
  async function writesSince(mark: string): Promise<string[]> {
    const r = await sql<{ tbl: string; op: string; n: string }>`select tbl, op, count(*)::text as n from fuzz_writes where id > ${mark}::bigint and app <> ${WORKER_APP} group by 1, 2 order by 1, 2`.execute(stack.server.ctx.db);
    return r.rows.map((x) => `${x.op} ${x.tbl} ×${x.n}`);
  }

  /** Error lines the server logged from line `from` on. */
  function serverErrors(from: number): string[] {
    const out: string[] = [];
    for (const line of sink.lines.slice(from)) {
      const j = parseJson(line) as { level?: number; process?: string; msg?: string; err?: { message?: string; stack?: string } } | undefined;
      if (j && j.process === 'server' && (j.level ?? 0) >= 50) out.push(`${j.msg}: ${j.err?.message ?? ''} ${(j.err?.stack ?? '').split('\n').slice(1, 4).join(' ')}`.slice(0, 600));
    }
    return out;
  }

  function authHeader(k: KeyName): Record<string, string> {
    const key = w.keys[k];
    return key ? { Authorization: `Bearer ${key}` } : {};
  }

  /** Sends a tool-call case: raw fetch (a batch when several), or the SDK client. */
  async function runMcp(c: McpCase): Promise<Outcome> {
    const out: Outcome = { refused: false, succeeded: false, inputs: c.calls.length, violations: [], codes: [] };
    const known = new Set(w.toolNames);
    const expectResult = (call: ToolCallInput) => known.has(call.name) && (call.args === undefined || (call.args !== null && typeof call.args === 'object' && !Array.isArray(call.args) && !(call.args instanceof RawJson) && !(call.args instanceof Huge)));
    const where = (call: ToolCallInput) => `${c.via} ${c.key} tools/call ${show(call.name, 60)}(${show(call.args)})`;
    if (c.via !== 'fetch' && c.calls.every((x) => sdkSendable(x.args))) {
      const call = c.calls[0]!;
      const client = clients.get(`${c.via}:${c.key}`)!;
      try {
        const args = call.args === undefined ? undefined : materialize(call.args);
        judgeToolResult((await client.callTool({ name: call.name, arguments: args as Record<string, unknown> })) as CallToolResult, where(call), out);
      } catch (err) {
        out.refused = true;
        if (err instanceof McpError) {
          out.codes.push(`rpc:${err.code}`);
          if (expectResult(call)) out.violations.push(`${where(call)}: a well-formed tool call got JSON-RPC error ${err.code} ${err.message.slice(0, 200)}`);
          else if (!PROTOCOL_CODES.has(err.code)) out.violations.push(`${where(call)}: JSON-RPC error ${err.code} ${err.message.slice(0, 200)}`);
        } else {
          out.violations.push(`${where(call)}: the SDK client failed: ${(err as Error).message.slice(0, 300)}`);
        }
      }
      return out;
    }
    const messages = c.calls.map((call, i) => ({ jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: call.args === undefined ? { name: call.name } : { name: call.name, arguments: call.args } }));
    const body = toJson(messages.length === 1 ? messages[0] : messages);
    const mcpHeaders = { ...MCP_HEADERS, 'MCP-Protocol-Version': c.protocolVersion, ...authHeader(c.key) };
    const a = closesConnection('', Buffer.byteLength(body), MCP_BODY_LIMIT) ? await sendAlone(`${stack.url}/mcp`, { method: 'POST', headers: mcpHeaders, body }) : await send(`${stack.url}/mcp`, { method: 'POST', headers: mcpHeaders, body });
    const what = c.calls.length === 1 ? where(c.calls[0]!) : `batch of ${c.calls.length}: ${c.calls.map((x) => `${show(x.name, 40)}(${show(x.args, 150)})`).join(', ')}`;
    judgeMcpHttp(a, Buffer.byteLength(body), what, out, (msgs) => {
      const byId = new Map((Array.isArray(msgs) ? msgs : [msgs]).map((m) => [(m as { id?: unknown }).id, m]));
      c.calls.forEach((call, i) => {
        const m = byId.get(i + 1);
        if (m === undefined) out.violations.push(`${where(call)}: no response in the batch`);
        else judgeRpc(m, where(call), expectResult(call), out);
      });
    });
    return out;
  }

  /**
   * Judges the HTTP side of an MCP answer: a 413 exactly for bodies over the limit, no 5xx, our
   * `{"error":{"code"}}` (auth) or JSON-RPC; `onRpc` judges the JSON-RPC messages of a 200.
   */
  function judgeMcpHttp(a: Answer, bytes: number, where: string, out: Outcome, onRpc: (msgs: unknown) => void): void {
    if ('error' in a) {
      out.violations.push(`${where}: no answer: ${a.error}`);
      return;
    }
    const json = parseJson(a.text);
    if (a.status >= 500) return judge5xx(a.status, json, where, out);
    if (bytes > MCP_BODY_LIMIT) {
      out.refused = true;
      out.codes.push(`http:${a.status}`);
      const data = (json as { error?: { data?: { code?: unknown } } } | undefined)?.error?.data;
      if (a.status !== 413 || data?.code !== 'PAYLOAD_TOO_LARGE') out.violations.push(`${where}: a ${bytes}-byte body should be 413 PAYLOAD_TOO_LARGE, got ${a.status} ${a.text.slice(0, 200)}`);
      return;
    }
    if (a.status === 413) out.violations.push(`${where}: a ${bytes}-byte body (under the limit) was refused 413`);
    if (a.status === 202 && a.text === '') {
      out.succeeded = true;
      out.codes.push('http:202');
      return;
    }
    if (json === undefined) {
      out.violations.push(`${where}: HTTP ${a.status} with a body that is not JSON: ${a.text.slice(0, 200)}`);
      return;
    }
    const restError = (json as { error?: { code?: unknown } }).error;
    if (!Array.isArray(json) && (json as { jsonrpc?: unknown }).jsonrpc === undefined && restError) {
      out.refused = true;
      judgeCode(restError.code, `${where} (HTTP ${a.status})`, out);
      return;
    }
    if (a.status >= 400) {
      // The transport's own refusals (406, 415, 400 parse errors) are JSON-RPC errors.
      out.refused = true;
      judgeRpc(json, `${where} (HTTP ${a.status})`, false, out);
      return;
    }
    onRpc(json);
  }

  /** Sends a malformed JSON-RPC message or a message with wrong headers. */
  async function runRawMcp(c: RawMcpCase): Promise<Outcome> {
    const out: Outcome = { refused: false, succeeded: false, inputs: 1, violations: [], codes: [] };
    const body = typeof c.body === 'string' ? c.body : toJson(c.body);
    const headers: Record<string, string> = { ...authHeader(c.key) };
    const accept = c.headers.accept === undefined ? MCP_HEADERS.Accept : c.headers.accept;
    const ct = c.headers.contentType === undefined ? MCP_HEADERS['Content-Type'] : c.headers.contentType;
    const pv = c.headers.protocolVersion === undefined ? '2025-03-26' : c.headers.protocolVersion;
    if (accept !== null) headers.Accept = accept;
    if (ct !== null) headers['Content-Type'] = ct;
    if (pv !== null) headers['MCP-Protocol-Version'] = pv;
    const a = closesConnection('', Buffer.byteLength(body), MCP_BODY_LIMIT) ? await sendAlone(`${stack.url}/mcp`, { method: 'POST', headers, body }) : await send(`${stack.url}/mcp`, { method: 'POST', headers, body });
    const where = `raw ${c.key} ${show(c.headers)} ${show(c.body)}`;
    // Methods other than tools/call are the SDK's own (see judgeRpc).
    const methods = (Array.isArray(c.body) ? c.body : [c.body]).map((m) => (m !== null && typeof m === 'object' ? (m as { method?: unknown }).method : undefined));
    const sdkMethod = methods.every((m) => typeof m === 'string' && m !== 'tools/call');
    judgeMcpHttp(a, Buffer.byteLength(body), where, out, (msgs) => {
      for (const m of Array.isArray(msgs) ? msgs : [msgs]) judgeRpc(m, where, false, out, sdkMethod);
    });
    return out;
  }

  /** Sends a REST case and judges it. */
  async function runRest(c: RestCase): Promise<Outcome> {
    const out: Outcome = { refused: false, succeeded: false, inputs: 1, violations: [], codes: [] };
    const headers: Record<string, string> = {};
    if (c.auth.kind === 'bearer') Object.assign(headers, authHeader(c.auth.key));
    else if (c.auth.kind === 'header') headers.Authorization = c.auth.value;
    else {
      headers.Cookie = `${SESSION_COOKIE}=${w.sessions[c.auth.session]}`;
      if (c.auth.origin === 'own') headers.Origin = stack.url;
      if (c.auth.origin === 'evil') headers.Origin = 'http://evil.example';
    }
    if (c.contentType !== null) headers['Content-Type'] = c.contentType;
    const body = c.body.kind === 'none' ? undefined : c.body.kind === 'json' ? toJson(c.body.value) : typeof c.body.text === 'string' ? c.body.text : c.body.text.text();
    const url = `${stack.url}${c.path}${c.query ? `?${c.query}` : ''}`;
    const limit = c.method === 'POST' && c.path === '/api/session' ? SESSION_BODY_LIMIT : API_BODY_LIMIT;
    const bytes = body === undefined ? 0 : Buffer.byteLength(body);
    const a = closesConnection(url, bytes, limit) ? await sendAlone(url, { method: c.method, headers, ...(body !== undefined ? { body } : {}) }) : await send(url, { method: c.method, headers, ...(body !== undefined ? { body } : {}) });
    const where = `${c.method} ${c.path.slice(0, 120)}${c.path.length > 120 ? '…' : ''}${c.query ? `?${c.query.slice(0, 120)}` : ''} auth=${show(c.auth, 80)} ct=${c.contentType} body=${show(c.body.kind === 'json' ? c.body.value : c.body.kind === 'text' ? c.body.text : null)}`;
    if ('error' in a) {
      out.violations.push(`${where}: no answer: ${a.error}`);
      return out;
    }
    const json = parseJson(a.text);
    if (a.status >= 500) {
      judge5xx(a.status, json, where, out);
      return out;
    }
    if (a.status < 400) {
      out.succeeded = true;
      out.codes.push(`http:${a.status}`);
    } else if (a.status === 431 && a.text === '') {
      // Node's HTTP parser refuses a request line over 16 KiB before the app sees it.
      out.refused = true;
      out.codes.push('http:431');
    } else {
      out.refused = true;
      judgeCode((json as { error?: { code?: unknown } } | undefined)?.error?.code, `${where} (HTTP ${a.status})`, out);
    }
    const error = (json as { error?: { code?: unknown; details?: { field?: unknown } } } | undefined)?.error;
    if (bytes > limit && !(a.status === 413 && error?.code === 'PAYLOAD_TOO_LARGE')) {
      // Only what runs before the body limit may answer first: the path and query checks, sign-in's
      // cross-site rules, Node's parser. Anything else means the body was read.
      const queryNames = c.query.split('&').map((p) => safeDecode(p.split('=')[0] ?? ''));
      const earlier = a.status === 431 || (a.status === 400 && error?.code === 'INVALID_INPUT' && (error.details?.field === 'path' || error.details?.field === 'query' || queryNames.includes(String(error.details?.field)))) || (c.method === 'POST' && c.path === '/api/session' && (a.status === 403 || a.status === 415));
      if (!earlier) out.violations.push(`${where}: a ${bytes}-byte body should be 413 PAYLOAD_TOO_LARGE, got ${a.status} ${a.text.slice(0, 200)}`);
    }
    if (a.status === 413 && bytes <= limit) out.violations.push(`${where}: a ${bytes}-byte body (under the limit) was refused 413`);
    return out;
  }

  /** Runs one case, keeping the slowest ones for the diagnostics. */
  async function runCase(c: Case): Promise<Outcome> {
    const t0 = performance.now();
    const out = await (c.surface === 'mcp' ? runMcp(c) : c.surface === 'mcp-raw' ? runRawMcp(c) : runRest(c));
    const ms = performance.now() - t0;
    if (ms > 500) {
      stats.slow.push({ ms, what: caseText(c).slice(0, 300), codes: out.codes.join(',') });
      stats.slow.sort((a, b) => b.ms - a.ms).splice(8);
    }
    return out;
  }

  /** Runs `fn` over `items`, at most `limit` at once, keeping the order of results. */
  async function mapLimit<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array(items.length);
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }));
    return results;
  }

  /** Splits a JSON-RPC batch into single calls (for replaying refusals one by one). */
  function singles(c: Case): Case[] {
    return c.surface === 'mcp' && c.calls.length > 1 ? c.calls.map((call) => ({ ...c, calls: [call] })) : [c];
  }

  const stats = { inputs: 0, requests: 0, replays: 0, cases: { mcp: 0, batch: 0, streamable: 0, sse: 0, raw: 0, rest: 0, cookie: 0 }, codes: new Map<string, number>(), tags: new Map<string, number>(), tools: new Map<string, number>(), routes: new Map<string, number>(), slow: [] as Array<{ ms: number; what: string; codes: string }> };
  const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

  /**
   * Runs one batch: its corrupted cases at once, then its well-formed ones one by one, each group
   * between two readings of the write log and the server's error log.
   * @returns the violations (empty: the batch passed).
   */
  async function runBatch(cases: Case[]): Promise<string[]> {
    const violations: string[] = [];
    const record = (c: Case, o: Outcome) => {
      stats.inputs += o.inputs;
      stats.requests++;
      for (const code of o.codes) bump(stats.codes, code);
      if (c.surface === 'mcp') {
        stats.cases[c.calls.length > 1 ? 'batch' : c.via === 'fetch' ? 'mcp' : c.via]++;
        for (const call of c.calls) {
          bump(stats.tools, call.name);
          for (const t of call.tags) bump(stats.tags, t);
        }
      } else if (c.surface === 'mcp-raw') {
        stats.cases.raw++;
        bump(stats.tags, c.tag);
      } else {
        stats.cases.rest++;
        if (c.auth.kind === 'cookie') stats.cases.cookie++;
        bump(stats.routes, c.route);
        for (const t of c.tags) bump(stats.tags, t);
      }
      violations.push(...o.violations);
    };
    /** Runs `group` concurrently; checks that a group with no success wrote nothing, else replays its refusals alone. */
    const window = async (group: Case[], replay: boolean) => {
      if (!group.length) return;
      const logFrom = sink.lines.length;
      const mark = await writeMark();
      const outcomes = await mapLimit(group, CONCURRENCY, runCase);
      group.forEach((c, i) => (replay ? violations.push(...outcomes[i]!.violations) : record(c, outcomes[i]!)));
      const errors = serverErrors(logFrom);
      if (errors.length) violations.push(`the server logged errors while answering ${group.length} case(s) [${group.map((c) => caseText(c)).join(' | ')}]: ${errors.join(' / ')}`);
      const writes = await writesSince(mark);
      if (!writes.length) return;
      const refusedOnly = outcomes.every((o) => o.refused && !o.succeeded);
      if (refusedOnly) {
        violations.push(`refused input wrote rows (${writes.join(', ')}): ${group.map((c) => caseText(c)).join(' | ')}`);
        return;
      }
      if (group.length === 1 && !refusedOnly) return; // one success: its writes are its own
      // A success wrote: replay each refusal alone to see that it writes nothing.
      for (const [i, c] of group.entries()) {
        if (!outcomes[i]!.refused) continue;
        for (const s of singles(c)) {
          stats.replays++;
          await window([s], true);
        }
      }
    };
    await window(cases.filter((c) => c.intent === 'corrupt'), false);
    for (const c of cases.filter((x) => x.intent === 'valid')) await window([c], false);
    return violations;
  }

  test('the write log sees the server\'s writes, and the worker\'s connections carry their own name', async () => {
    const mark = await writeMark();
    const res = await send(`${stack.url}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, 'MCP-Protocol-Version': '2025-03-26', ...authHeader('owner') }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'spin_up_wallet', arguments: { agent_id: 'fz-canary' } } }) });
    assert.ok(!('error' in res) && res.status === 200);
    assert.deepEqual(await writesSince(mark), ['INSERT wallets ×1']);
    const r = await sql<{ n: string }>`select count(*)::text as n from pg_stat_activity where datname = current_database() and application_name = ${WORKER_APP}`.execute(stack.server.ctx.db);
    assert.ok(Number(r.rows[0]!.n) > 0, 'the worker is connected under its own application_name');
  });

  test(`at least ${TARGET} generated inputs (seed ${SEED}): answered, no 5xx, stable codes, no rows written by refusals`, async (t) => {
    const caseArb: fc.Arbitrary<Case> = fc.oneof(
      { weight: 13, arbitrary: gen.mcpCase(tools) },
      { weight: 1, arbitrary: gen.rawMcpCase() },
      { weight: 8, arbitrary: fc.oneof(...routes.map((r) => gen.restCase(r))) },
    );
    const MIN_CASES = 3;
    let failed = false;
    let shrinkRuns = 0;
    let reachedAt: number | undefined;
    const started = performance.now();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(caseArb, { minLength: MIN_CASES, maxLength: 8 }), async (cases) => {
          if (failed) {
            // Shrinking: bounded, so a failure is reported in bounded time.
            if (++shrinkRuns > SHRINK_BUDGET) return;
          } else if (stats.inputs >= TARGET) {
          reachedAt ??= performance.now();
          return;
        }
          const violations = await runBatch(cases);
          if (violations.length) {
            failed = true;
            throw new Error(violations.slice(0, 5).join('\n'));
          }
        }),
        { seed: SEED, numRuns: Math.ceil(TARGET / MIN_CASES), endOnFailure: false },
      );
    } finally {
      const seconds = (performance.now() - started) / 1000;
      const top = (m: Map<string, number>, n = 40) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${k}=${v}`).join(' ');
      const sending = ((reachedAt ?? performance.now()) - started) / 1000;
      t.diagnostic(`${stats.inputs} inputs in ${stats.requests} requests (+${stats.replays} replays) in ${sending.toFixed(1)} s (${seconds.toFixed(1)} s with the runs left to generate), seed ${SEED}`);
      t.diagnostic(`cases: ${JSON.stringify(stats.cases)}`);
      t.diagnostic(`answers: ${top(stats.codes)}`);
      t.diagnostic(`corruptions: ${top(stats.tags)}`);
      for (const x of stats.slow) t.diagnostic(`slow: ${Math.round(x.ms)} ms ${x.codes} ${x.what}`);
      // The worker acts on earlier successes (sends, approvals); its errors are shown, not judged.
      const workerErrors = sink.lines.filter((l) => l.includes('"process":"worker"') && /"level":(50|60)/.test(l));
      t.diagnostic(`worker errors: ${workerErrors.length}${workerErrors[0] ? `, first: ${workerErrors[0].slice(0, 300)}` : ''}`);
    }
    assert.ok(stats.inputs >= TARGET, `only ${stats.inputs} inputs were sent`);

    // Coverage: every tool and every route was fuzzed, through every surface, with every kind of
    // corruption. Checked on runs of the default size and up; a short run (FUZZ_RUNS=300) is a smoke test.
    if (TARGET < 5000) return;
    const floor = Math.floor(TARGET / 1000);
    const thinTools = w.toolNames.filter((n) => (stats.tools.get(n) ?? 0) < floor);
    assert.deepEqual(thinTools, [], `tools fuzzed fewer than ${floor} times`);
    const thinRoutes = routes.map((r) => r.key).filter((k) => (stats.routes.get(k) ?? 0) < floor);
    assert.deepEqual(thinRoutes, [], `routes fuzzed fewer than ${floor} times`);
    for (const [k, v] of Object.entries(stats.cases)) assert.ok(v > 0, `no ${k} cases were sent`);
    const kinds = ['valid', 'wrong_type', 'nasty_string', 'nasty_number', 'deep', 'huge', 'lookalike_address', 'bad_amount', 'bad_id', 'missing_field', 'unknown_field', 'arguments_not_object', 'unknown_tool', 'weird_date', 'weird_cron', 'weird_hex', 'weird_mnemonic', 'weird_typed_data', 'weird_keystore', 'weird_cursor', 'weird_nested', 'not_json_rpc', 'bad_envelope', 'batch_over_100', 'oversized', 'rest_corrupt'];
    for (const k of kinds) assert.ok((stats.tags.get(k) ?? 0) > 0, `no input of kind ${k} was generated`);
  });

  test('afterwards the server still serves: /healthz, both MCP transports, REST', async () => {
    const health = await fetch(`${stack.url}/healthz`);
    assert.equal(health.status, 200);
    for (const transport of ['streamable', 'sse'] as const) {
      const c = await connectMcp(stack.url, stack.adminKey, transport);
      assert.equal((await c.listTools()).tools.length, tools.length);
      await callOk(c, 'list_wallets', {});
      await c.close();
    }
    const r = await fetch(`${stack.url}/api/wallets`, { headers: { Authorization: `Bearer ${stack.adminKey}` } });
    assert.equal(r.status, 200);
    await r.text();
  });
});
