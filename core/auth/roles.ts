/**
 * The role matrix: what each of the five roles may do, as data, and the checks every surface
 * (MCP tools, REST routes, the CLI's key commands, the admin UI) makes against it. See
 * docs/access-control.md for the table in prose.
 *
 * | action            | owner | admin | operator | viewer | agent |
 * |-------------------|-------|-------|----------|--------|-------|
 * | `mcp.read`        | yes   | yes   | yes      | yes    | yes   |
 * | `mcp.write`       | yes   | yes   | yes      | no     | yes   |
 * | `api.read`        | yes   | yes   | yes      | yes    | no    |
 * | `api.write`       | yes   | yes   | yes      | no     | no    |
 * | `approvals.decide`| yes   | yes   | yes      | no     | no    |
 * | `policies.write`  | yes   | yes   | no       | no     | no    |
 * | `keys.manage`     | yes   | yes   | no       | no     | no    |
 * | `audit.export`    | yes   | yes   | yes      | yes    | no    |
 * | `tenants.manage`  | yes*  | no    | no       | no     | no    |
 * | `wallets.export`  | yes** | no    | no       | no     | no    |
 *
 * (*) `tenants.manage` is a host action ({@link HOST_ACTIONS}): the role is not enough, the key
 * must also belong to the default tenant, the host operator's (core/tenants.ts
 * `requireHostOperator`). An owner of any other tenant is refused it like a role that lacks it.
 *
 * (**) `wallets.export` (a wallet's key material leaving, as a keystore or in plaintext) also
 * needs `ALLOW_KEY_EXPORT=1` and another owner key's approval (core/wallets/export.ts); an owner
 * key is also what approves one.
 *
 * Key management is further ranked: nobody creates a key of a higher role than their own, and
 * an admin can neither create nor revoke an owner key ({@link canManageKeyOfRole}).
 */
import type { Role } from '../db/types.ts';
import { ForbiddenError } from '../errors.ts';

/** The roles, most powerful first. */
export const ROLES = ['owner', 'admin', 'operator', 'viewer', 'agent'] as const satisfies readonly Role[];

/** What a role may be asked to do. */
export const ACTIONS = ['mcp.read', 'mcp.write', 'api.read', 'api.write', 'approvals.decide', 'policies.write', 'keys.manage', 'audit.export', 'tenants.manage', 'wallets.export'] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * Actions of the host operator rather than of a tenant: besides the role, they need a key of the
 * default tenant (checked by core/tenants.ts `requireHostOperator`, which callers use instead of
 * {@link requireAction} alone).
 */
export const HOST_ACTIONS: ReadonlySet<Action> = new Set<Action>(['tenants.manage']);

/** The matrix: the actions each role may take. */
export const ROLE_MATRIX: Readonly<Record<Role, ReadonlySet<Action>>> = {
  owner: new Set(ACTIONS),
  admin: new Set(ACTIONS.filter((a) => a !== 'tenants.manage' && a !== 'wallets.export')),
  operator: new Set<Action>(['mcp.read', 'mcp.write', 'api.read', 'api.write', 'approvals.decide', 'audit.export']),
  viewer: new Set<Action>(['mcp.read', 'api.read', 'audit.export']),
  agent: new Set<Action>(['mcp.read', 'mcp.write']),
};

/** What each action means, for refusal messages. */
const ACTION_TEXT: Record<Action, string> = {
  'mcp.read': 'call read-only MCP tools',
  'mcp.write': 'call MCP tools that change state or move funds',
  'api.read': 'read the REST API',
  'api.write': 'change wallets, strategies or transfers over the REST API',
  'approvals.decide': 'approve or reject sends',
  'policies.write': 'change policies',
  'keys.manage': 'manage API keys',
  'audit.export': 'read or export the audit log',
  'tenants.manage': 'manage tenants',
  'wallets.export': 'export or approve the export of wallet key material (owner keys only)',
};

/**
 * Rank of a role for key management: a higher number outranks a lower one. `agent` and `viewer`
 * share the bottom rank (neither outranks the other; neither manages keys).
 */
const RANK: Record<Role, number> = { owner: 4, admin: 3, operator: 2, viewer: 1, agent: 1 };

/** Whether `value` names one of the five roles. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether `role` may take `action` (the matrix above). */
export function can(role: Role, action: Action): boolean {
  return ROLE_MATRIX[role]?.has(action) ?? false;
}

/**
 * Every action `role` may take, in {@link ACTIONS} order (what `GET /api/session` reports). The
 * {@link HOST_ACTIONS} are left out unless `hostOperator` says the key belongs to the default
 * tenant (core/tenants.ts `isHostOperator`).
 */
export function permissionsOf(role: Role, opts: { hostOperator?: boolean } = {}): Action[] {
  return ACTIONS.filter((a) => can(role, a) && (opts.hostOperator === true || !HOST_ACTIONS.has(a)));
}

/**
 * Requires that `role` may take `action`.
 * @throws {ForbiddenError} `FORBIDDEN` with `details: { rule: 'role', role, action }`.
 */
export function requireAction(role: Role, action: Action): void {
  if (!can(role, action)) {
    throw new ForbiddenError(`a key with role "${role}" may not ${ACTION_TEXT[action]}`, { rule: 'role', role, action });
  }
}

/**
 * Whether a key of role `actor` may create or revoke a key of role `target`: it must hold
 * `keys.manage`, `target` must not outrank it, and only an owner manages owner keys.
 */
export function canManageKeyOfRole(actor: Role, target: Role): boolean {
  if (!can(actor, 'keys.manage')) return false;
  if (target === 'owner') return actor === 'owner';
  return RANK[target] <= RANK[actor];
}

/**
 * Requires that `actor` may create (or revoke) a key of role `target`.
 * @param verb `create` or `revoke`, for the message.
 * @throws {ForbiddenError} `FORBIDDEN` with `details: { rule: 'role', role, target_role }`.
 */
export function requireKeyManagement(actor: Role, target: Role, verb: 'create' | 'revoke'): void {
  requireAction(actor, 'keys.manage');
  if (!canManageKeyOfRole(actor, target)) {
    throw new ForbiddenError(
      target === 'owner' ? `only an owner key may ${verb} owner keys` : `a key with role "${actor}" may not ${verb} a key with the higher role "${target}"`,
      { rule: 'role', role: actor, target_role: target },
    );
  }
}
