// API keys (owner and admin keys only): the tenant's keys with role, scopes, expiry, last use and
// status; a form that creates one and shows it once; revoke (two clicks). The role list offers
// only roles the signed-in key may create: owners any, admins admin and below.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { currentPrincipal } from './access.js';
import { CopyButton, ErrorBox, Spinner, StatusBadge, Time, html } from './ui.js';

const ROLES = ['owner', 'admin', 'operator', 'viewer', 'agent'];
const ROLE_HELP = {
  owner: 'everything, including owner keys',
  admin: 'everything but owner keys',
  operator: 'wallets, strategies, approvals; no keys or policies',
  viewer: 'read only (read-only MCP tools)',
  agent: 'MCP tools only, no REST',
};

/** Roles the signed-in key may create or revoke (mirrors core/auth/roles.ts). */
function manageableRoles() {
  const role = currentPrincipal()?.role;
  if (role === 'owner') return ROLES;
  if (role === 'admin') return ROLES.filter((r) => r !== 'owner');
  return [];
}

const splitList = (text) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function KeysView() {
  const [state, setState] = useState({ keys: [], loading: true, error: null });
  const [created, setCreated] = useState(null);
  const abort = useRef(null);

  const load = async () => {
    abort.current?.abort();
    const ac = new AbortController();
    abort.current = ac;
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      const body = await api.listKeys(ac.signal);
      setState({ keys: body.keys ?? [], loading: false, error: null });
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      setState((s) => ({ ...s, loading: false, error: err }));
    }
  };
  useEffect(() => {
    load();
    return () => abort.current?.abort();
  }, []);

  return html`<section class="page">
    <header class="page-header">
      <div>
        <h1>API keys</h1>
        <p class="muted page-sub">Keys for agents (MCP) and operators (REST, this UI). A new key is shown once; VaultPilot keeps only its hash.</p>
      </div>
      <div class="page-actions">
        ${state.loading && state.keys.length > 0 && html`<${Spinner} label="Refreshing…" />`}
        <button type="button" class="btn" onClick=${load} data-testid="refresh-button">Refresh</button>
      </div>
    </header>
    ${created && html`<${NewKey} created=${created} onDone=${() => setCreated(null)} />`}
    <${CreateKeyForm}
      onCreated=${(body) => {
        setCreated(body);
        load();
      }}
    />
    <${ErrorBox} error=${state.error} onRetry=${load} />
    <div class="card">
      <div class="table-scroll">
        <table class="table" data-testid="keys-table">
          <thead>
            <tr>
              <th>Key</th>
              <th>Name</th>
              <th>Role</th>
              <th>Scopes</th>
              <th>Expires</th>
              <th>Last used</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            ${state.keys.map((k) => html`<${KeyRow} key=${k.id} k=${k} onChanged=${load} />`)}
          </tbody>
        </table>
      </div>
      ${state.loading && state.keys.length === 0 && html`<div class="empty"><${Spinner} label="Loading keys…" /></div>`}
    </div>
  </section>`;
}

/** The key just created, shown once with a copy button. */
function NewKey({ created, onDone }) {
  return html`<div class="card card-pad new-key" role="status" data-testid="new-key">
    <h3>New key created</h3>
    <p><code>${created.key.key_id}</code> · <span class="tag">${created.key.role}</span> · ${created.key.name}</p>
    <p>Copy it now and store it somewhere safe (a secret manager, the agent's MCP config). It is not shown again.</p>
    <p class="hex new-key-value">
      <code data-testid="new-key-value">${created.api_key}</code>
      <${CopyButton} value=${created.api_key} label="Copy key" />
    </p>
    <button type="button" class="btn btn-small" onClick=${onDone} data-testid="new-key-done">I have stored it</button>
  </div>`;
}

function Scopes({ k }) {
  const parts = [
    ['tools', k.allowed_tools],
    ['wallets', k.allowed_wallets],
    ['IPs', k.allowed_ips],
  ].filter(([, v]) => v !== null);
  if (parts.length === 0) return html`<span class="muted">none</span>`;
  return html`<span class="param-fields" data-testid="key-scopes">
    ${parts.map(([label, v]) => html`<span><span class="muted">${label}</span> <code>${v.join(', ')}</code></span>`)}
  </span>`;
}

function KeyRow({ k, onChanged }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const self = currentPrincipal()?.key_id === k.key_id;
  const mayRevoke = k.status !== 'revoked' && manageableRoles().includes(k.role);

  const revoke = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.revokeKey(k.id);
      setConfirming(false);
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<tr data-testid="key-row" data-key-id=${k.key_id} data-role=${k.role} data-status=${k.status}>
    <td class="nowrap"><code title=${k.id}>${k.key_id}</code>${self && html` <span class="tag" title="the key you signed in with">you</span>`}</td>
    <td>
      <div class="strong">${k.name}</div>
      <div class="muted small nowrap">created <${Time} iso=${k.created_at} dateOnly />${k.created_by && html` by <code>${k.created_by}</code>`}</div>
    </td>
    <td><span class="tag" title=${ROLE_HELP[k.role]}>${k.role}</span></td>
    <td><${Scopes} k=${k} /></td>
    <td>${k.expires_at ? html`<${Time} iso=${k.expires_at} />` : html`<span class="muted">never</span>`}</td>
    <td>${k.last_used_at ? html`<${Time} iso=${k.last_used_at} />` : html`<span class="muted">never</span>`}</td>
    <td><div class="key-actions">
      <${StatusBadge} status=${k.status} testid="key-status" />
      ${mayRevoke && !confirming &&
      html`<button type="button" class="btn btn-small" onClick=${() => setConfirming(true)} aria-label=${`Revoke key ${k.key_id}`} data-testid="key-revoke">Revoke</button>`}
      ${mayRevoke && confirming &&
      html`<span class="toolbar-item">
        <button type="button" class="btn btn-small btn-danger" onClick=${revoke} disabled=${busy} data-testid="key-revoke-confirm">
          ${busy ? 'Revoking…' : self ? 'Revoke my own key' : 'Confirm revoke'}
        </button>
        <button type="button" class="btn btn-small" onClick=${() => setConfirming(false)} disabled=${busy}>Cancel</button>
      </span>`}
      <${ErrorBox} error=${error} compact />
    </div></td>
  </tr>`;
}

function CreateKeyForm({ onCreated }) {
  const roles = manageableRoles();
  const empty = { name: '', role: 'agent', expires: '', tools: '', wallets: '', ips: '' };
  const [form, setForm] = useState(empty);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = (field) => (e) => setForm((f) => ({ ...f, [field]: e.currentTarget.value }));

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body = { name: form.name, role: form.role };
    if (form.expires) body.expires_at = new Date(form.expires).toISOString();
    if (form.tools.trim()) body.allowed_tools = splitList(form.tools);
    if (form.wallets.trim()) body.allowed_wallets = splitList(form.wallets);
    if (form.ips.trim()) body.allowed_ips = splitList(form.ips);
    try {
      const created = await api.createKey(body);
      setForm(empty);
      onCreated(created);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<form class="card card-pad key-form" onSubmit=${submit} novalidate data-testid="key-form">
    <h3>New key</h3>
    <div class="key-form-grid">
      <label class="field">
        <span class="field-label">Name</span>
        <input type="text" maxlength="100" value=${form.name} onInput=${set('name')} placeholder="e.g. payouts agent" data-testid="key-name" />
      </label>
      <label class="field">
        <span class="field-label">Role</span>
        <select value=${form.role} onChange=${set('role')} data-testid="key-role">
          ${roles.map((r) => html`<option value=${r}>${r} — ${ROLE_HELP[r]}</option>`)}
        </select>
      </label>
      <label class="field">
        <span class="field-label">Expires <span class="muted">(optional)</span></span>
        <input type="datetime-local" value=${form.expires} onInput=${set('expires')} data-testid="key-expires" />
      </label>
      <label class="field">
        <span class="field-label">Tools <span class="muted">(optional, comma-separated)</span></span>
        <input type="text" value=${form.tools} onInput=${set('tools')} placeholder="query_balance, execute_transfer" data-testid="key-tools" />
      </label>
      <label class="field">
        <span class="field-label">Wallets <span class="muted">(optional, agent ids)</span></span>
        <input type="text" value=${form.wallets} onInput=${set('wallets')} placeholder="agent-1, agent-2" data-testid="key-wallets" />
      </label>
      <label class="field">
        <span class="field-label">Source IPs <span class="muted">(optional, CIDRs)</span></span>
        <input type="text" value=${form.ips} onInput=${set('ips')} placeholder="10.0.0.0/8, 2001:db8::/32" data-testid="key-ips" />
      </label>
    </div>
    <${ErrorBox} error=${error} />
    <button type="submit" class="btn btn-primary" disabled=${busy} data-testid="key-create">${busy ? 'Creating…' : 'Create key'}</button>
  </form>`;
}
