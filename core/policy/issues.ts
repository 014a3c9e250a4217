/**
 * Policy validation errors in words: a zod issue of the wallet-policy schema becomes the field
 * path it concerns and the rule it breaks. Shared by the REST/UI validation (core/policy/service.ts)
 * and the policy file loader (core/policy/file.ts), so both say the same thing.
 */
import type { z } from 'zod';
import { walletPolicySchema, type WalletPolicy } from './schema.ts';

/** The policy rules, in the order the view and the docs list them. */
export const POLICY_FIELDS = Object.keys(walletPolicySchema.shape) as Array<keyof WalletPolicy>;

const TYPE_TEXT: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  object: 'an object',
  array: 'a list',
  boolean: 'true or false',
  null: 'null',
};

/** Field-specific wording for a value of the wrong JSON type. */
const FIELD_TYPE_TEXT: Partial<Record<keyof WalletPolicy, string>> = {
  max_tx_eth: 'a decimal ETH amount as a string, such as "0.5"',
  spend_cap_24h_eth: 'a decimal ETH amount as a string, such as "1"',
  spend_cap_7d_eth: 'a decimal ETH amount as a string, such as "5"',
  approval_threshold_eth: 'a decimal ETH amount as a string, such as "0.25"',
  allowed_destinations: 'a list of addresses or {address, label} objects',
  denied_destinations: 'a list of addresses or {address, label} objects',
  allowed_chains: 'a list of chainIds such as [1, 8453]',
  quiet_hours: 'an object {start: "HH:MM", end: "HH:MM", timezone?, days?, action?}',
};

type Issue = z.core.$ZodIssue;

/**
 * The most telling issue of a union failure: a branch that got past the type check (its issue
 * says what is wrong with the value) wins over "expected string / expected object".
 */
function unionIssue(issue: Extract<Issue, { code: 'invalid_union' }>): Issue | undefined {
  const branches = issue.errors.filter((b) => b.length > 0);
  const typed = branches.find((b) => !(b.length === 1 && b[0]!.code === 'invalid_type' && b[0]!.path.length === 0));
  const pick = typed?.[0];
  return pick ? { ...pick, path: [...issue.path, ...pick.path] } : undefined;
}

/**
 * A zod issue of a wallet policy as a field path (`policy.max_tx_eth`) and a message that states
 * the rule. Union failures (an amount, a destination) report the branch that got past the type
 * check, so the message says what is wrong with the value rather than "Invalid input".
 */
export function describeIssue(issue: Issue, input: unknown): { field: string; message: string } {
  if (issue.code === 'invalid_union') {
    const inner = unionIssue(issue);
    if (inner) return describeIssue(inner, input);
  }
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const field = ['policy', ...path, key].join('.');
    return path.length === 0
      ? { field, message: `is not a policy rule; the rules are ${POLICY_FIELDS.join(', ')}` }
      : { field, message: path[0] === 'quiet_hours' ? 'is not a field of quiet_hours (start, end, timezone, days, action)' : path.length === 2 ? 'is not a field of a destination (address, label)' : 'is not a field here' };
  }
  const field = ['policy', ...path].join('.');
  const top = path[0] as keyof WalletPolicy | undefined;
  if (issue.code === 'invalid_type' || issue.code === 'invalid_union') {
    const given = path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), input);
    if (given === undefined) return { field, message: 'is required' };
    // A message the schema wrote (not zod's "Invalid input: expected …") says the rule best.
    if (issue.code === 'invalid_type' && !issue.message.startsWith('Invalid input')) return { field, message: issue.message };
    const wanted =
      path.length === 1 && top && FIELD_TYPE_TEXT[top]
        ? FIELD_TYPE_TEXT[top]!
        : path.length === 2 && (top === 'allowed_destinations' || top === 'denied_destinations')
          ? 'an address string or an {address, label} object'
          : issue.code === 'invalid_type'
          ? (TYPE_TEXT[issue.expected] ?? issue.expected)
          : 'a value of another type';
    return { field, message: `must be ${wanted}${path.length === 1 ? ', or null to lift the rule for this wallet' : ''}` };
  }
  return { field, message: issue.message };
}
