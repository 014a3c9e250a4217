// The audit log: every tool call, API write and sign-in, newest first. A row opens to show the
// recorded request and response. Filters (wallet, agent, tool, outcome, time range) live in the
// URL hash; the export links download the same filtered rows as CSV or JSON Lines.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { PAGE_SIZE, api, request, withQuery } from '../api.js';
import {
  StatusFilter,
  expandableRow,
  useOpenRows,
  ErrorBox,
  EVENT_STATUSES,
  Hex,
  JsonView,
  LoadMore,
  Spinner,
  StatusBadge,
  Time,
  asText,
  formatDuration,
  html,
  shortHex,
  usePagedList,
} from './ui.js';

/** The principal may arrive as a name or as `{key_id, name, role, …}`. */
function principalLabel(p) {
  if (p && typeof p === 'object') return p.name ?? p.key_id ?? JSON.stringify(p);
  return asText(p);
}

const pad = (n) => String(n).padStart(2, '0');

/** An ISO time as a `datetime-local` value (local time, minutes), '' when unset or unparsable. */
function toLocalInput(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value (local time) as an ISO time, '' when empty. */
function fromLocalInput(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** The filter params the API understands, from the URL hash params. */
function filtersOf(params) {
  return {
    wallet_id: params.wallet_id ?? '',
    agent_id: params.agent_id ?? '',
    action: params.action ?? '',
    status: params.status ?? '',
    since: params.since ?? '',
    until: params.until ?? '',
  };
}

/** The tenant's wallets (first page) for the wallet filter; an empty list if they can't be read. */
function useWalletOptions() {
  const [wallets, setWallets] = useState([]);
  useEffect(() => {
    const ac = new AbortController();
    api.listWallets({}, ac.signal).then(
      (body) => setWallets(body.wallets ?? []),
      () => setWallets([]),
    );
    return () => ac.abort();
  }, []);
  return wallets;
}

export function EventsView({ params, setParams }) {
  const f = filtersOf(params);
  const key = JSON.stringify(f);
  const list = usePagedList(async (cursor, signal) => {
    const body = await request(withQuery('/api/events', { limit: PAGE_SIZE, cursor, ...f }), { signal });
    return { items: body.events ?? [], next: body.next_cursor };
  }, key);
  const wallets = useWalletOptions();

  // Text boxes apply on Enter / Apply, not per keystroke.
  const [actionDraft, setActionDraft] = useState(f.action);
  const [agentDraft, setAgentDraft] = useState(f.agent_id);
  useEffect(() => setActionDraft(f.action), [f.action]);
  useEffect(() => setAgentDraft(f.agent_id), [f.agent_id]);
  const [isOpen, toggle] = useOpenRows();

  // Suggest actions and agents already seen, so operators needn't remember names.
  const seenActions = useMemo(() => [...new Set(list.items.map((e) => e.action).filter(Boolean))].sort(), [list.items]);
  const seenAgents = useMemo(
    () => [...new Set([...wallets.map((w) => w.agent_id), ...list.items.map((e) => e.agent_id)].filter(Boolean))].sort(),
    [list.items, wallets],
  );

  const set = (changes) => setParams({ ...params, ...changes });
  const applyText = (e) => {
    e.preventDefault();
    set({ action: actionDraft.trim(), agent_id: agentDraft.trim() });
  };
  const filtered = Object.values(f).some((v) => v !== '');
  const clearAll = () => setParams({});
  const exportHref = (format) => withQuery('/api/events/export', { format, ...f });
  const walletKnown = wallets.some((w) => w.id === f.wallet_id);

  return html`<section class="page">
    <header class="page-header">
      <div>
        <h1>Events</h1>
        <p class="muted page-sub">The audit log: tool calls, API writes and sign-ins. Click a row for the request and response.</p>
      </div>
      <div class="page-actions">
        ${list.loading && list.items.length > 0 && html`<${Spinner} label="Refreshing…" />`}
        <a class="btn" href=${exportHref('csv')} download data-testid="export-csv"
          title="Download the filtered events as CSV">Export CSV</a>
        <a class="btn" href=${exportHref('jsonl')} download data-testid="export-jsonl"
          title="Download the filtered events as JSON Lines (with the hash chain)">Export JSONL</a>
        <button type="button" class="btn" onClick=${list.reload} data-testid="refresh-button">Refresh</button>
      </div>
    </header>
    <div class="filters">
      <label class="field-inline">
        <span>Wallet</span>
        <select value=${f.wallet_id} onChange=${(e) => set({ wallet_id: e.currentTarget.value })} data-testid="wallet-filter">
          <option value="">All</option>
          ${wallets.map((w) => html`<option value=${w.id}>${w.agent_id} (${shortHex(w.address)})</option>`)}
          ${f.wallet_id && !walletKnown && html`<option value=${f.wallet_id}>${shortHex(f.wallet_id, 8, 4)}</option>`}
        </select>
      </label>
      <form class="field-inline" onSubmit=${applyText} role="search">
        <label for="agent-filter">Agent</label>
        <input
          id="agent-filter"
          type="search"
          list="agent-suggestions"
          placeholder="agent id"
          value=${agentDraft}
          onInput=${(e) => setAgentDraft(e.currentTarget.value)}
          data-testid="agent-filter"
        />
        <datalist id="agent-suggestions">
          ${seenAgents.map((a) => html`<option value=${a}></option>`)}
        </datalist>
        <label for="action-filter">Tool</label>
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
      <${StatusFilter} value=${f.status} statuses=${EVENT_STATUSES} onChange=${(v) => set({ status: v })} />
      <label class="field-inline">
        <span>From</span>
        <input
          type="datetime-local"
          value=${toLocalInput(f.since)}
          onChange=${(e) => set({ since: fromLocalInput(e.currentTarget.value) })}
          data-testid="since-filter"
        />
      </label>
      <label class="field-inline">
        <span>To</span>
        <input
          type="datetime-local"
          value=${toLocalInput(f.until)}
          onChange=${(e) => set({ until: fromLocalInput(e.currentTarget.value) })}
          data-testid="until-filter"
        />
      </label>
      ${filtered && html`<button type="button" class="btn btn-small" onClick=${clearAll} data-testid="clear-filters">Clear filters</button>`}
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
      html`<div class="empty" data-testid="empty-state">No events${filtered ? ' match these filters' : ' yet'}.</div>`}
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
      data-status=${ev.status ?? ''}
      data-agent-id=${ev.agent_id ?? ''}
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
          ${ev.decision && html`<dt>Policy</dt><dd><code>${asText(ev.decision)}</code>${ev.rule ? html` by rule <code>${asText(ev.rule)}</code>` : ''}</dd>`}
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
