// Tenants (the host operator only: owner keys of the default tenant, whose session carries the
// `tenants.manage` permission): every tenant with its live key and wallet counts, and a form that
// creates a tenant with its first owner key, shown once with a copy button (as on the Keys page).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { CopyButton, ErrorBox, Spinner, Time, html } from './ui.js';

export function TenantsView() {
  const [state, setState] = useState({ tenants: [], loading: true, error: null });
  const [created, setCreated] = useState(null);
  const abort = useRef(null);

  const load = async () => {
    abort.current?.abort();
    const ac = new AbortController();
    abort.current = ac;
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      const body = await api.listTenants(ac.signal);
      setState({ tenants: body.tenants ?? [], loading: false, error: null });
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
        <h1>Tenants</h1>
        <p class="muted page-sub">Each tenant has its own wallets, strategies, policies, keys and audit log, which no other tenant's key can see. A new tenant comes with one owner key, shown once.</p>
      </div>
      <div class="page-actions">
        ${state.loading && state.tenants.length > 0 && html`<${Spinner} label="Refreshing…" />`}
        <button type="button" class="btn" onClick=${load} data-testid="refresh-button">Refresh</button>
      </div>
    </header>
    ${created && html`<${NewTenantKey} created=${created} onDone=${() => setCreated(null)} />`}
    <${CreateTenantForm}
      onCreated=${(body) => {
        setCreated(body);
        load();
      }}
    />
    <${ErrorBox} error=${state.error} onRetry=${load} />
    <div class="card">
      <div class="table-scroll">
        <table class="table" data-testid="tenants-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Id</th>
              <th>Live keys</th>
              <th>Wallets</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            ${state.tenants.map(
              (t) => html`<tr key=${t.id} data-testid="tenant-row" data-tenant-name=${t.name}>
                <td class="strong">${t.name}</td>
                <td><code>${t.id}</code></td>
                <td data-testid="tenant-keys">${t.keys}</td>
                <td data-testid="tenant-wallets">${t.wallets}</td>
                <td><${Time} iso=${t.created_at} /></td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      ${state.loading && state.tenants.length === 0 && html`<div class="empty"><${Spinner} label="Loading tenants…" /></div>`}
    </div>
  </section>`;
}

/** The new tenant's owner key, shown once with a copy button. */
function NewTenantKey({ created, onDone }) {
  return html`<div class="card card-pad new-key" role="status" data-testid="new-tenant-key">
    <h3>Tenant ${created.tenant.name} created</h3>
    <p>Its owner key: <code>${created.key.key_id}</code> · <span class="tag">${created.key.role}</span> · ${created.key.name}</p>
    <p>Hand it to the tenant's owner through a safe channel (a secret manager). It is not shown again; with it they sign in here and create the tenant's other keys.</p>
    <p class="hex new-key-value">
      <code data-testid="new-tenant-key-value">${created.api_key}</code>
      <${CopyButton} value=${created.api_key} label="Copy key" />
    </p>
    <button type="button" class="btn btn-small" onClick=${onDone} data-testid="new-tenant-key-done">I have stored it</button>
  </div>`;
}

function CreateTenantForm({ onCreated }) {
  const empty = { name: '', ownerKeyName: '', expires: '' };
  const [form, setForm] = useState(empty);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = (field) => (e) => setForm((f) => ({ ...f, [field]: e.currentTarget.value }));

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body = { name: form.name.trim() };
    if (form.ownerKeyName.trim()) body.owner_key_name = form.ownerKeyName.trim();
    if (form.expires) body.owner_key_expires_at = new Date(form.expires).toISOString();
    try {
      const created = await api.createTenant(body);
      setForm(empty);
      onCreated(created);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<form class="card card-pad key-form" onSubmit=${submit} novalidate data-testid="tenant-form">
    <h3>New tenant</h3>
    <div class="key-form-grid">
      <label class="field">
        <span class="field-label">Name</span>
        <input type="text" maxlength="64" value=${form.name} onInput=${set('name')} placeholder="e.g. acme" data-testid="tenant-name" />
      </label>
      <label class="field">
        <span class="field-label">Owner key name <span class="muted">(optional, default owner)</span></span>
        <input type="text" maxlength="100" value=${form.ownerKeyName} onInput=${set('ownerKeyName')} placeholder="owner" data-testid="tenant-owner-key-name" />
      </label>
      <label class="field">
        <span class="field-label">Owner key expires <span class="muted">(optional)</span></span>
        <input type="datetime-local" value=${form.expires} onInput=${set('expires')} data-testid="tenant-owner-key-expires" />
      </label>
    </div>
    <${ErrorBox} error=${error} />
    <button type="submit" class="btn btn-primary" disabled=${busy} data-testid="tenant-create">${busy ? 'Creating…' : 'Create tenant'}</button>
  </form>`;
}
