/**
 * The guardrail decision an audit row records for a refused call: a role, scope, rate-limit or
 * policy refusal names its rule (`details.rule`) and is a `deny`; `APPROVAL_REQUIRED` (a send
 * that could not be held for approval, such as several sends at once) is a `require_approval`.
 * Other errors (bad input, outages) record no decision.
 */
import type { VaultPilotError } from '../errors.ts';
import type { PolicyDecisionKind } from '../db/types.ts';

/** `{decision, rule}` for the audit row of a refusal, or `{}` when no guardrail decided. */
export function refusalDecision(e: VaultPilotError): { decision?: PolicyDecisionKind; rule?: string } {
  const rule = e.details?.rule;
  if (typeof rule !== 'string') return {};
  return { decision: e.code === 'APPROVAL_REQUIRED' ? 'require_approval' : 'deny', rule };
}
