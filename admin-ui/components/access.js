// What the signed-in key may do, from GET /api/session (`principal.permissions`, the role matrix
// of core/auth/roles.ts, and `principal.scopes`). The UI only hides what the server would refuse
// anyway: every route checks the role itself. The shell sets the principal before it renders a
// view, so components can call `can()` while they render.
import { html } from './ui.js';

/** @type {{ role?: string, permissions?: string[], scopes?: { tools: string[] | null, wallets: string[] | null, ips: string[] | null } } | null} */
let current = null;

/** Records the signed-in principal (null when signed out). */
export function setPrincipal(principal) {
  current = principal ?? null;
}

/** The signed-in principal, or null. */
export function currentPrincipal() {
  return current;
}

/**
 * Whether the signed-in key's role may take `action`: `api.read`, `api.write` (strategy
 * Start/Stop and other changes), `approvals.decide`, `policies.write`, `keys.manage`,
 * `audit.export`, `tenants.manage` (the host operator only: owner keys of the default tenant).
 */
export function can(action) {
  return Boolean(current && Array.isArray(current.permissions) && current.permissions.includes(action));
}

/** The views of `views` ({name: {requires?: action}}) the signed-in key may open, in order. */
export function allowedViews(views) {
  return Object.fromEntries(Object.entries(views).filter(([, v]) => can(v.requires ?? 'api.read')));
}

/** Shown to a key whose role opens no view here (an agent key: MCP tools only). */
export function NoAccessView() {
  const role = current?.role ?? 'unknown';
  return html`<section class="page" data-testid="no-access">
    <header class="page-header"><div><h1>Nothing to show</h1></div></header>
    <div class="card card-pad">
      <p>This key has the <span class="tag">${role}</span> role, which does not use the REST API or this admin UI${role === 'agent' ? ': agent keys call MCP tools only' : ''}. Sign in with an owner, admin, operator or viewer key.</p>
    </div>
  </section>`;
}
