/**
 * The shape of a policy: what `vaultpilot.yml` declares and what a wallet may override.
 *
 * Amounts are decimal ETH strings at this edge (a YAML/JSON number is read as the decimal it
 * prints as); {@link compilePolicy} turns them into wei. Every field is optional: a field that is
 * absent inherits the file's default; `null` explicitly lifts the rule for the wallet. See
 * docs/policies.md for every rule with examples.
 */
import { z } from 'zod';
import { getAddress, isAddress, parseUnits } from 'ethers';
import { decimalToUnits, numberToDecimal } from '../money.ts';

const ETH_RE = /^\d+(\.\d{1,18})?$/;

/** A decimal ETH amount ≥ 0 (string, or a number read as the decimal it prints as). */
const ethAmount = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const text = typeof v === 'number' ? (Number.isFinite(v) && v >= 0 ? numberToDecimal(v) : '') : v.trim();
    if (!ETH_RE.test(text)) {
      ctx.addIssue({ code: 'custom', message: `must be a decimal ETH amount ≥ 0 with at most 18 decimals, such as "0.5" (got ${JSON.stringify(v)})` });
      return z.NEVER;
    }
    const [int = '', frac = ''] = text.split('.');
    if (decimalToUnits(int, frac, 18) === null) {
      ctx.addIssue({ code: 'custom', message: 'is more ETH than can exist (at most 2^256 - 1 wei)' });
      return z.NEVER;
    }
    return text.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  });

const address = z.string().transform((v, ctx) => {
  if (!isAddress(v.trim())) {
    ctx.addIssue({ code: 'custom', message: `must be a 0x-prefixed 20-byte hex address (got ${JSON.stringify(v.slice(0, 60))})` });
    return z.NEVER;
  }
  return getAddress(v.trim());
});

/** An address with an optional label; a bare address string is accepted too. */
const destination = z
  .union([address, z.strictObject({ address, label: z.string().trim().min(1).max(100).optional() })])
  .transform((v) => (typeof v === 'string' ? { address: v } : v));

const HHMM_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Hours during which sends are refused or held for a human (`start` > `end` spans midnight). */
const quietHours = z
  .strictObject({
    start: z.string().regex(HHMM_RE, 'must be a 24-hour time "HH:MM"'),
    end: z.string().regex(HHMM_RE, 'must be a 24-hour time "HH:MM"'),
    timezone: z.string().default('UTC').refine(validTimeZone, 'must be an IANA time zone such as "Europe/Berlin"'),
    days: z.array(z.enum(WEEKDAYS, { message: `must be one of ${WEEKDAYS.join(', ')}` })).min(1).optional(),
    action: z.enum(['deny', 'require_approval'], { message: 'must be deny or require_approval' }).default('deny'),
  })
  .refine((q) => q.start !== q.end, { message: 'start and end must differ', path: ['end'] });

const chainId = z.number().int('must be an integer chainId').positive('must be a positive chainId');

/** The policy rules of one wallet (or the file's defaults for every wallet). */
export const walletPolicySchema = z.strictObject({
  /** Largest single send, ETH. */
  max_tx_eth: ethAmount.nullable().optional(),
  /** Most a wallet may send in any rolling 24 hours, ETH (pending and mined sends count). */
  spend_cap_24h_eth: ethAmount.nullable().optional(),
  /** Most a wallet may send in any rolling 7 days, ETH. */
  spend_cap_7d_eth: ethAmount.nullable().optional(),
  /** When set, sends may only go to these addresses. */
  allowed_destinations: z.array(destination).nullable().optional(),
  /** Sends to these addresses are refused (a wallet's list adds to the file's). */
  denied_destinations: z.array(destination).nullable().optional(),
  /** When set, only wallets on these chains may send. */
  allowed_chains: z.array(chainId).min(1, 'must list at least one chainId (or be null)').nullable().optional(),
  /** Sends above this amount wait for a human (docs/approvals.md), ETH. */
  approval_threshold_eth: ethAmount.nullable().optional(),
  quiet_hours: quietHours.nullable().optional(),
});

/** A wallet policy as declared (normalized: amounts as decimal ETH strings, checksummed addresses). */
export type WalletPolicy = z.infer<typeof walletPolicySchema>;

/** A labelled address in a destination list. */
export type Destination = { address: string; label?: string };

/** AgentVault's rate-limit entry: at most `max_calls` per `window_seconds`. */
const rateLimit = z.strictObject({
  max_calls: z.number().int('must be an integer').positive('must be at least 1'),
  window_seconds: z.number().int('must be an integer').min(1, 'must be at least 1').max(86_400 * 31, 'must be at most 2678400 (31 days)'),
});

export type RateLimit = z.infer<typeof rateLimit>;

/** AgentVault's `rate_limits` section, accepted as is. */
export const rateLimitsSchema = z.strictObject({
  /** Every tool call of one API key. */
  default: rateLimit.optional(),
  /** Calls of one tool by one API key, by tool name. */
  tools: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'tool names are snake_case'), rateLimit).optional(),
  /** Calls naming one wallet (`agent_id`), whoever calls, by agent id. */
  agents: z.record(z.string().min(1), rateLimit).optional(),
});

export type RateLimits = z.infer<typeof rateLimitsSchema>;

/** `vaultpilot.yml`. Unknown top-level sections are ignored with a warning (AgentVault files carry others). */
export const policyFileSchema = z.object({
  version: z.literal(1, { message: 'must be 1' }).optional(),
  rate_limits: rateLimitsSchema.nullable().optional(),
  policy: walletPolicySchema.nullable().optional(),
});

/** The loaded policy file: defaults every wallet inherits, and the rate limits. */
export interface PolicyFile {
  /** Where it came from (`null`: no `POLICY_FILE`, built-in defaults). */
  path: string | null;
  rateLimits: RateLimits;
  defaults: WalletPolicy;
}

/** The built-in policy when no `POLICY_FILE` is set: no rate limits, no rules. */
export const EMPTY_POLICY_FILE: PolicyFile = { path: null, rateLimits: {}, defaults: {} };

/** A policy ready to evaluate: amounts in wei, addresses lower-cased for lookup. */
export interface CompiledPolicy {
  maxTxWei: bigint | null;
  spendCap24hWei: bigint | null;
  spendCap7dWei: bigint | null;
  /** `null`: any destination. */
  allowedDestinations: Map<string, Destination> | null;
  deniedDestinations: Map<string, Destination>;
  allowedChains: number[] | null;
  approvalThresholdWei: bigint | null;
  quietHours: NonNullable<WalletPolicy['quiet_hours']> | null;
}

const wei = (eth: string | null | undefined): bigint | null => (eth === null || eth === undefined ? null : parseUnits(eth, 18));
const byAddress = (list: Destination[]): Map<string, Destination> => new Map(list.map((d) => [d.address.toLowerCase(), d]));

/**
 * The effective policy of a wallet: the file's defaults, overridden field by field by the
 * wallet's own policy (`null` lifts a rule). Denylists add up: a wallet cannot lift an address
 * the file denies.
 */
export function mergePolicies(defaults: WalletPolicy, wallet: WalletPolicy | null): WalletPolicy {
  if (!wallet) return { ...defaults };
  const merged: WalletPolicy = { ...defaults };
  for (const [k, v] of Object.entries(wallet)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  const denied = [...(defaults.denied_destinations ?? []), ...(wallet.denied_destinations ?? [])];
  const seen = new Set<string>();
  const unique = denied.filter((d) => !seen.has(d.address.toLowerCase()) && seen.add(d.address.toLowerCase()));
  if (unique.length > 0 || merged.denied_destinations !== undefined) merged.denied_destinations = unique;
  return merged;
}

/** Compiles a declared policy into wei and address maps. */
export function compilePolicy(p: WalletPolicy): CompiledPolicy {
  return {
    maxTxWei: wei(p.max_tx_eth),
    spendCap24hWei: wei(p.spend_cap_24h_eth),
    spendCap7dWei: wei(p.spend_cap_7d_eth),
    allowedDestinations: p.allowed_destinations ? byAddress(p.allowed_destinations) : null,
    deniedDestinations: byAddress(p.denied_destinations ?? []),
    allowedChains: p.allowed_chains ?? null,
    approvalThresholdWei: wei(p.approval_threshold_eth),
    quietHours: p.quiet_hours ?? null,
  };
}
