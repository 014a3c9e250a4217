// Approvals: sends the policy held for a human, and key exports an owner asked for (four eyes on
// key material). Pending ones come first, as cards with everything needed to decide (amount and
// destination, or the export's format; wallet and agent, the requesting key, the rule, the stated
// reason, time left) and Approve / Reject with an optional note; decided ones follow as a history
// table (filterable by status; `#/approvals?status=…`). The key that asked cannot decide; only
// owner, admin and operator keys decide sends, and only owner keys key exports: the server
// enforces all of it, the buttons only reflect it. `PendingBadge` is the count in the nav.
import { useEffect, useRef, useState } from 'preact/hooks';
import { PAGE_SIZE, request, withQuery } from '../api.js';
import {
  ErrorBox,
  EthAmount,
  Hex,
  LoadMore,
  Spinner,
  StatusBadge,
  StatusFilter,
  Time,
  html,
  shortHex,
  useInterval,
  usePagedList,
} from './ui.js';

const DECIDER_ROLES = ['owner', 'admin', 'operator'];
/** Whether the signed-in key may decide: its `approvals.decide` permission, else its role. */
const canDecide = (p) => Boolean(p) && (Array.isArray(p.permissions) ? p.permissions.includes('approvals.decide') : DECIDER_ROLES.includes(p.role));
/** Whether it may decide this approval: a key export needs an owner key (`wallets.export`). */
const canDecideThis = (p, a) => canDecide(p) && (a.kind !== 'key_export' || (Array.isArray(p.permissions) ? p.permissions.includes('wallets.export') : p.role === 'owner'));
/** What an approval is for, in words (aria labels). */
const subject = (a) => (a.kind === 'key_export' ? `exporting the key of ${a.agent_id} as a ${a.export_format === 'private_key' ? 'plaintext private key' : 'keystore'}` : `sending ${a.amount?.eth} ETH to ${a.to_address}`);
const HISTORY_STATUSES = ['approved', 'executed', 'rejected', 'expired', 'failed', 'cancelled'];
const NOTE_MAX = 500;
/** Fired on `window` after a decision, so the nav badge refreshes at once. */
const CHANGED_EVENT = 'vaultpilot:approvals-changed';

const approvalsApi = {
  list: ({ cursor, status, limit = PAGE_SIZE } = {}, signal) => request(withQuery('/api/approvals', { limit, cursor, status }), { signal }),
  decide: (id, verb, note) =>
    request(`/api/approvals/${encodeURIComponent(id)}/${verb}`, { method: 'POST', body: note ? { note } : {} }),
  session: (signal) => request('/api/session', { signal }),
};

/** The signed-in principal (`{ key_id, role, … }`), or null until known. */
function usePrincipal() {
  const [principal, setPrincipal] = useState(null);
  useEffect(() => {
    const ac = new AbortController();
    approvalsApi.session(ac.signal).then(
      (body) => setPrincipal(body.principal),
      () => undefined,
    );
    return () => ac.abort();
  }, []);
  return principal;
}

/** The current time, re-read every `ms` (for "expires in" countdowns). */
function useNow(ms = 1000) {
  const [now, setNow] = useState(() => Date.now());
  useInterval(() => setNow(Date.now()), ms);
  return now;
}

/** "3 h 12 min", "4 min 05 s", "12 s" left until `iso`; "expired" once past. */
export function timeLeft(iso, now = Date.now()) {
  const ms = Date.parse(iso) - now;
  if (!(ms > 0)) return 'expired';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}

export function ApprovalsView({ params, setParams }) {
  const principal = usePrincipal();
  const history = params.status ?? '';
  const pending = usePagedList(async (cursor, signal) => {
    const body = await approvalsApi.list({ cursor, status: 'pending' }, signal);
    return { items: body.approvals ?? [], next: body.next_cursor };
  }, 'pending');
  const decided = usePagedList(async (cursor, signal) => {
    const body = await approvalsApi.list({ cursor, status: history }, signal);
    // Without a filter the list holds every state; pending ones are shown above.
    return { items: (body.approvals ?? []).filter((a) => history || a.status !== 'pending'), next: body.next_cursor };
  }, history);
  // New requests arrive on their own; an executed send's transaction moves on.
  useInterval(() => {
    pending.reload();
    decided.reload();
  }, 10_000);
  const reloadAll = () => {
    pending.reload();
    decided.reload();
    window.dispatchEvent(new Event(CHANGED_EVENT));
  };

  return html`<section class="page">
    <header class="page-header">
      <div>
        <h1>Approvals</h1>
        <p class="muted page-sub">
          Sends the policy held for a human, and key exports an owner asked for. An approved send is made by the worker, with every limit checked again; an approved export can be collected once by the key that asked. The key that asked cannot decide it.
        </p>
      </div>
      <div class="page-actions">
        ${(pending.loading || decided.loading) && (pending.items.length > 0 || decided.items.length > 0) && html`<${Spinner} label="Refreshing…" />`}
        <button type="button" class="btn" onClick=${reloadAll} data-testid="refresh-button">Refresh</button>
      </div>
    </header>

    <h2 class="section-heading">Waiting for a decision ${pending.items.length > 0 && html`<span class="count-pill" data-testid="pending-count">${pending.items.length}${pending.next ? '+' : ''}</span>`}</h2>
    <${ErrorBox} error=${pending.error} onRetry=${pending.reload} />
    ${principal && !canDecide(principal) &&
    html`<p class="notice" data-testid="read-only-notice">Your key's role (<span class="tag">${principal.role}</span>) can see approvals but not decide them; an owner, admin or operator must.</p>`}
    ${pending.loading && pending.items.length === 0 && html`<div class="card empty"><${Spinner} label="Loading approvals…" /></div>`}
    ${!pending.loading && !pending.error && pending.items.length === 0 &&
    html`<div class="card empty" data-testid="no-pending">Nothing is waiting for approval.</div>`}
    <div class="approval-cards">
      ${pending.items.map((a) => html`<${PendingCard} key=${a.approval_id} a=${a} principal=${principal} onDecided=${reloadAll} />`)}
    </div>
    ${pending.next && html`<${LoadMore} list=${pending} noun="pending approval" />`}

    <h2 class="section-heading">History</h2>
    <div class="filters">
      <${StatusFilter} value=${history} statuses=${HISTORY_STATUSES} onChange=${(v) => setParams({ ...params, status: v })} />
    </div>
    <${ErrorBox} error=${decided.error} onRetry=${decided.reload} />
    <div class="card">
      <div class="table-scroll">
        <table class="table" data-testid="approvals-history">
          <thead>
            <tr>
              <th>Requested</th>
              <th>Status</th>
              <th>Agent</th>
              <th class="num">Amount (ETH)</th>
              <th>To</th>
              <th>Decided by</th>
              <th>Note / error</th>
              <th>Transaction</th>
            </tr>
          </thead>
          <tbody>
            ${decided.items.map((a) => html`<${HistoryRow} key=${a.approval_id} a=${a} />`)}
          </tbody>
        </table>
      </div>
      ${decided.loading && decided.items.length === 0 && html`<div class="empty"><${Spinner} label="Loading history…" /></div>`}
      ${!decided.loading && !decided.error && decided.items.length === 0 &&
      html`<div class="empty" data-testid="empty-history">${history ? `No ${history} approvals.` : 'No decided approvals yet.'}</div>`}
      ${decided.items.length > 0 && html`<${LoadMore} list=${decided} noun="approval" />`}
    </div>
  </section>`;
}

function PendingCard({ a, principal, onDecided }) {
  const now = useNow(1000);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  const mounted = useRef(true);
  useEffect(() => () => (mounted.current = false), []);
  const own = principal && a.requested_by === principal.key_id;
  const mayDecide = Boolean(principal) && canDecideThis(principal, a) && !own;
  const exportKind = a.kind === 'key_export';
  const left = timeLeft(a.expires_at, now);
  const expired = left === 'expired';

  const decide = async (verb) => {
    setBusy(verb);
    setError(null);
    try {
      await approvalsApi.decide(a.approval_id, verb, note.trim());
      onDecided();
    } catch (err) {
      if (!mounted.current) return;
      setError(err);
      // Someone else decided it, or it expired: the lists are stale.
      if (err && err.status === 409) onDecided();
    } finally {
      if (mounted.current) setBusy(null);
    }
  };

  return html`<article class="card approval-card" data-testid="approval-card" data-approval-id=${a.approval_id}>
    <header class="approval-head">
      ${exportKind
        ? html`<div class="approval-amount error-text" data-testid="approval-export">Key export: ${a.export_format === 'private_key' ? 'plaintext private key' : 'keystore'}</div>
            <div class="approval-to"><span class="muted">of</span> <strong>${a.agent_id}</strong></div>`
        : html`<div class="approval-amount" data-testid="approval-amount"><${EthAmount} amount=${a.amount} unit /></div>
            <div class="approval-to">
              <span class="muted">to</span> <${Hex} value=${a.to_address} />
            </div>`}
      <div class=${`approval-expiry ${expired ? 'error-text' : ''}`} data-testid="approval-expires" title=${`expires at ${a.expires_at}`}>
        ${expired ? 'Expired' : html`Expires in <strong>${left}</strong>`}
      </div>
    </header>
    <div class="approval-reason" data-testid="approval-reason">
      <span class="muted small">${exportKind ? 'Stated reason' : "Agent's stated reason"}</span>
      ${a.reason ? html`<blockquote>${a.reason}</blockquote>` : html`<p class="muted">No reason given.</p>`}
    </div>
    <dl class="details approval-facts">
      <dt>Wallet</dt>
      <dd><span class="strong" data-testid="approval-agent">${a.agent_id}</span> <code title=${a.from_address}>${shortHex(a.from_address)}</code></dd>
      <dt>Requested by</dt>
      <dd><code data-testid="approval-requested-by">${a.requested_by ?? '—'}</code> <span class="muted small">via ${a.source}</span> · <${Time} iso=${a.created_at} /></dd>
      <dt>Rule</dt>
      <dd><code data-testid="approval-rule">${a.rule}</code> <span class="muted">${a.rule_message}</span></dd>
      <dt>Approval id</dt>
      <dd><${Hex} value=${a.approval_id} short /></dd>
    </dl>
    ${exportKind && html`<p class="notice small" data-testid="export-warning">Approving lets the key that asked take this wallet's key material out of VaultPilot, once: whoever holds it controls the wallet. Only owner keys decide exports.</p>`}
    ${own && html`<p class="muted small" data-testid="own-request">Your key asked for this ${exportKind ? 'export' : 'send'}; another ${exportKind ? 'owner' : 'owner, admin or operator'} key must decide it.</p>`}
    ${!own && principal && canDecide(principal) && !mayDecide && html`<p class="muted small" data-testid="owner-only">Only an owner key may decide a key export.</p>`}
    ${mayDecide &&
    html`<div class="approval-actions">
      <label class="field-inline approval-note">
        <span>Note</span>
        <input
          type="text"
          maxlength=${NOTE_MAX}
          placeholder="Optional, shown to the agent"
          value=${note}
          onInput=${(e) => setNote(e.currentTarget.value)}
          disabled=${busy !== null}
          data-testid="approval-note"
          aria-label=${`Note for approval ${a.approval_id}`}
        />
      </label>
      <button
        type="button"
        class="btn btn-primary"
        onClick=${() => decide('approve')}
        disabled=${busy !== null || expired}
        aria-label=${`Approve ${subject(a)}`}
        data-testid="approve-button"
      >
        ${busy === 'approve' ? 'Approving…' : 'Approve'}
      </button>
      <button
        type="button"
        class="btn btn-danger"
        onClick=${() => decide('reject')}
        disabled=${busy !== null || expired}
        aria-label=${`Reject ${subject(a)}`}
        data-testid="reject-button"
      >
        ${busy === 'reject' ? 'Rejecting…' : 'Reject'}
      </button>
      <${ErrorBox} error=${error} compact />
    </div>`}
  </article>`;
}

function HistoryRow({ a }) {
  const tx = a.transaction;
  return html`<tr data-testid="history-row" data-approval-id=${a.approval_id} data-status=${a.status}>
    <td><${Time} iso=${a.created_at} /></td>
    <td><${StatusBadge} status=${a.status} testid="approval-status" /></td>
    <td class="strong nowrap">${a.agent_id}</td>
    ${a.kind === 'key_export'
      ? html`<td class="num muted" data-testid="history-export">key export</td>
          <td class="nowrap">${a.export_format}</td>`
      : html`<td class="num"><${EthAmount} amount=${a.amount} /></td>
          <td class="nowrap"><code title=${a.to_address}>${shortHex(a.to_address)}</code></td>`}
    <td class="nowrap">
      ${a.decided_by ? html`<code>${a.decided_by}</code><div class="muted small"><${Time} iso=${a.decided_at} /></div>` : html`<span class="muted">—</span>`}
    </td>
    <td class="approval-note-cell">
      ${a.error_code && html`<code class="error-code-inline">${a.error_code}</code> <span class="error-text">${a.error_message}</span>`}
      ${!a.error_code && (a.decision_note ? html`<span>${a.decision_note}</span>` : html`<span class="muted">${a.status === 'expired' ? 'nobody decided in time' : '—'}</span>`)}
    </td>
    <td>
      ${tx
        ? html`<span class="hex">
            <a
              href=${withQuery('#/transactions', { wallet_id: a.wallet_id, open: tx.id })}
              title=${`${tx.tx_hash} · ${tx.status}`}
              data-testid="approval-tx-link"
              data-tx-hash=${tx.tx_hash}
              ><code>${shortHex(tx.tx_hash)}</code></a
            >
            <${StatusBadge} status=${tx.status} testid="approval-tx-status" />
          </span>`
        : html`<span class="muted">—</span>`}
    </td>
  </tr>`;
}

/**
 * The number of pending approvals, for the nav: polled every 15 s and refreshed after a decision.
 * Nothing for roles that cannot read the REST API.
 */
export function PendingBadge({ principal }) {
  const [count, setCount] = useState(null);
  const canRead = principal && principal.role !== 'agent';
  const load = () => {
    if (!canRead) return;
    approvalsApi.list({ status: 'pending', limit: 100 }).then(
      (body) => setCount({ n: (body.approvals ?? []).length, more: Boolean(body.next_cursor) }),
      () => undefined,
    );
  };
  useEffect(() => {
    load();
    window.addEventListener(CHANGED_EVENT, load);
    return () => window.removeEventListener(CHANGED_EVENT, load);
  }, [canRead]);
  useInterval(load, 15_000);
  if (!count || count.n === 0) return null;
  const label = `${count.n}${count.more ? '+' : ''}`;
  return html`<span class="nav-badge" data-testid="pending-approvals-badge" title=${`${label} waiting for approval`} aria-label=${`${label} pending`}>${label}</span>`;
}
