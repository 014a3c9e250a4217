// The audit log: every tool call, API write and sign-in, newest first. A row opens to show the
// recorded request and response.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import {
  StatusFilter,
  expandableRow,
  useOpenRows,
  ErrorBox,
  EVENT_STATUSES,
  FilterChip,
  Hex,
  JsonView,
  LoadMore,
  Spinner,
  StatusBadge,
  Time,
  asText,
  formatDuration,
  html,
  usePagedList,
} from './ui.js';

/** The principal may arrive as a name or as `{key_id, name, role, …}`. */
function principalLabel(p) {
  if (p && typeof p === 'object') return p.name ?? p.key_id ?? JSON.stringify(p);
  return asText(p);
}

export function EventsView({ params, setParams }) {
  const action = params.action ?? '';
  const status = params.status ?? '';
  const walletId = params.wallet_id ?? '';
  const list = usePagedList(async (cursor, signal) => {
    const body = await api.listEvents({ cursor, action, status, wallet_id: walletId }, signal);
    return { items: body.events ?? [], next: body.next_cursor };
  }, `${action}|${status}|${walletId}`);

  // The action box applies on Enter / Apply, not per keystroke.
  const [actionDraft, setActionDraft] = useState(action);
  useEffect(() => setActionDraft(action), [action]);
  const [isOpen, toggle] = useOpenRows();

  // Suggest actions already seen, so operators needn't remember tool names.
  const seenActions = useMemo(
    () => [...new Set(list.items.map((e) => e.action).filter(Boolean))].sort(),
    [list.items],
  );

  const applyAction = (e) => {
    e.preventDefault();
    setParams({ ...params, action: actionDraft.trim() });
  };

  return html`<section class="page">
    <header class="page-header">
      <div>
        <h1>Events</h1>
        <p class="muted page-sub">The audit log: tool calls, API writes and sign-ins. Click a row for the request and response.</p>
      </div>
      <div class="page-actions">
        ${list.loading && list.items.length > 0 && html`<${Spinner} label="Refreshing…" />`}
        <button type="button" class="btn" onClick=${list.reload} data-testid="refresh-button">Refresh</button>
      </div>
    </header>
    <div class="filters">
      <form class="field-inline" onSubmit=${applyAction} role="search">
        <label for="action-filter">Action</label>
        <input
          id="action-filter"
          type="search"
          list="action-suggestions"
          placeholder="e.g. execute_transfer"
          value=${actionDraft}
          onInput=${(e) => setActionDraft(e.currentTarget.value)}
          data-testid="action-filter"
        />
        <datalist id="action-suggestions">
          ${seenActions.map((a) => html`<option value=${a}></option>`)}
        </datalist>
        <button type="submit" class="btn btn-small" data-testid="action-filter-apply">Apply</button>
      </form>
      <${StatusFilter} value=${status} statuses=${EVENT_STATUSES} onChange=${(v) => setParams({ ...params, status: v })} />
      ${action &&
      html`<${FilterChip} label="Action" value=${action} onClear=${() => setParams({ ...params, action: '' })} />`}
      ${walletId &&
      html`<${FilterChip} label="Wallet" value=${walletId} onClear=${() => setParams({ ...params, wallet_id: '' })} />`}
    </div>
    <${ErrorBox} error=${list.error} onRetry=${list.reload} />
    <div class="card">
      <div class="table-scroll">
        <table class="table table-clickable" data-testid="events-table">
          <thead>
            <tr>
              <th class="chevron-col"><span class="sr-only">Expand</span></th>
              <th>Time</th>
              <th>Kind</th>
              <th>Action</th>
              <th>Principal</th>
              <th>Agent</th>
              <th>Status</th>
              <th>Error</th>
              <th class="num">Duration</th>
            </tr>
          </thead>
          <tbody>
            ${list.items.map((ev) => html`<${EventRow} key=${ev.id} ev=${ev} open=${isOpen(ev.id)} onToggle=${() => toggle(ev.id)} />`)}
          </tbody>
        </table>
      </div>
      ${list.loading && list.items.length === 0 && html`<div class="empty"><${Spinner} label="Loading events…" /></div>`}
      ${!list.loading && !list.error && list.items.length === 0 &&
      html`<div class="empty" data-testid="empty-state">No events${action || status || walletId ? ' match these filters' : ' yet'}.</div>`}
      ${list.items.length > 0 && html`<${LoadMore} list=${list} noun="event" />`}
    </div>
  </section>`;
}

function EventRow({ ev, open, onToggle }) {
  return html`
    <tr
      ...${expandableRow(open, onToggle)}
      data-testid="event-row"
      data-action=${ev.action ?? ''}
      data-event-id=${ev.id}
    >
      <td class="chevron-col"><span class=${`chevron ${open ? 'open' : ''}`} aria-hidden="true">▸</span></td>
      <td><${Time} iso=${ev.occurred_at} /></td>
      <td><span class=${`tag kind-${asText(ev.kind).replace(/[^a-z_]/g, '')}`}>${asText(ev.kind)}</span></td>
      <td><code class="action">${asText(ev.action)}</code></td>
      <td class="nowrap">${principalLabel(ev.principal) || html`<span class="muted">—</span>`}</td>
      <td class="nowrap">${ev.agent_id ?? html`<span class="muted">—</span>`}</td>
      <td><${StatusBadge} status=${ev.status} testid="event-status" /></td>
      <td>${ev.error_code ? html`<code class="error-code-inline">${asText(ev.error_code)}</code>` : html`<span class="muted">—</span>`}</td>
      <td class="num nowrap">${formatDuration(ev.duration_ms)}</td>
    </tr>
    ${open &&
    html`<tr class="detail-row" data-testid="event-detail">
      <td colspan="9">
        <dl class="details details-inline">
          <dt>Event id</dt><dd><${Hex} value=${asText(ev.id)} /></dd>
          ${ev.wallet_id && html`<dt>Wallet id</dt><dd><${Hex} value=${ev.wallet_id} /></dd>`}
          ${ev.principal && typeof ev.principal === 'object' &&
          html`<dt>Principal</dt><dd><code>${JSON.stringify(ev.principal)}</code></dd>`}
        </dl>
        <div class="json-panes">
          <div class="json-pane">
            <h3>Request</h3>
            <${JsonView} value=${ev.request} />
          </div>
          <div class="json-pane">
            <h3>Response</h3>
            <${JsonView} value=${ev.response} />
          </div>
        </div>
      </td>
    </tr>`}
  `;
}
