// A wallet's policy (GET /api/wallets/:id/policy): every rule as it applies now, with where it
// comes from (this wallet's override, the policy file, or no rule), the rolling 24 h / 7 d spend
// against the caps, and the rate limits on tool calls naming the wallet. Keys that may change
// policies (owner, admin) get an editor: each rule inherits the file's value, is set for this
// wallet, or is lifted for it; Save PUTs the overrides and shows the API's validation error next
// to the rule it names (`policy.max_tx_eth`, `policy.allowed_destinations.0.address`, …).
import { useEffect, useRef, useState } from 'preact/hooks';
import { request } from '../api.js';
import { can } from './access.js';
import { ChainLabel, EthAmount, ErrorBox, Hex, Spinner, Time, html } from './ui.js';

const policyPath = (id) => `/api/wallets/${encodeURIComponent(id)}/policy`;

/** REST calls of this component (kept here so api.js stays the shared basics). */
export const policyApi = {
  get: (id, signal) => request(policyPath(id), { signal }),
  put: (id, body) => request(policyPath(id), { method: 'PUT', body }),
  clear: (id) => request(policyPath(id), { method: 'DELETE' }),
};

/** The rules, in the API's order: field, label, editor kind, and a hint. */
const RULES = [
  { field: 'max_tx_eth', label: 'Max per transaction', kind: 'eth', hint: 'Largest single send, ETH' },
  { field: 'spend_cap_24h_eth', label: 'Spend cap, rolling 24 h', kind: 'eth', hint: 'ETH; pending and mined sends count' },
  { field: 'spend_cap_7d_eth', label: 'Spend cap, rolling 7 days', kind: 'eth', hint: 'ETH; pending and mined sends count' },
  { field: 'allowed_destinations', label: 'Allowed destinations', kind: 'destinations', hint: 'When set, sends may only go to these addresses' },
  { field: 'denied_destinations', label: 'Denied destinations', kind: 'destinations', hint: 'Added to the policy file’s denylist, which always applies' },
  { field: 'allowed_chains', label: 'Allowed chains', kind: 'chains', hint: 'chainIds, comma-separated (e.g. 1, 8453)' },
  { field: 'approval_threshold_eth', label: 'Approval above', kind: 'eth', hint: 'Sends above this many ETH wait for a human' },
  { field: 'quiet_hours', label: 'Quiet hours', kind: 'quiet', hint: 'Sends in this window are refused or held for approval' },
];
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const SOURCE_TEXT = { wallet: 'wallet', file: 'policy file', none: 'no rule' };

/** Loads a wallet's policy view; `set` replaces it with what a write returned. */
function usePolicy(walletId) {
  const [state, setState] = useState({ view: null, loading: true, error: null });
  const abort = useRef(null);
  const load = async () => {
    abort.current?.abort();
    const ac = new AbortController();
    abort.current = ac;
    setState((s) => ({ ...s, loading: true, error: null }));
    try {
      const body = await policyApi.get(walletId, ac.signal);
      setState({ view: body.policy, loading: false, error: null });
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      setState((s) => ({ ...s, loading: false, error: err }));
    }
  };
  useEffect(() => {
    load();
    return () => abort.current?.abort();
  }, [walletId]);
  return { ...state, reload: load, set: (view) => setState({ view, loading: false, error: null }) };
}

/** The policy panel of one wallet (used on the wallet's page, components/wallets.js). */
export function WalletPolicy({ walletId }) {
  const policy = usePolicy(walletId);
  const v = policy.view;
  const mayEdit = can('policies.write');
  return html`<section class="wallet-policy" data-testid="wallet-policy" data-wallet-id=${walletId}>
    <div class="section-heading">
      <span>Policy</span>
      ${policy.loading && v && html`<${Spinner} label="Refreshing…" />`}
      <button type="button" class="btn btn-small" onClick=${policy.reload} data-testid="policy-refresh">Refresh</button>
    </div>
    <${ErrorBox} error=${policy.error} onRetry=${policy.reload} />
    ${policy.loading && !v && html`<div class="card empty"><${Spinner} label="Loading policy…" /></div>`}
    ${v &&
    html`<p class="muted small policy-meta" data-testid="policy-meta">
        ${v.policy_file ? html`Defaults from <code>${v.policy_file}</code>` : 'No policy file (POLICY_FILE unset): no defaults'}
        ${' · '}
        ${v.wallet
          ? html`overrides set <${Time} iso=${v.updated_at} /> by <code>${v.updated_by ?? 'unknown'}</code>`
          : 'no overrides for this wallet'}
      </p>
      <${SpendWindows} view=${v} />
      <${EffectiveTable} view=${v} />
      <${RateLimits} limits=${v.rate_limits} agentId=${v.agent_id} />
      ${mayEdit
        ? html`<${PolicyEditor} walletId=${walletId} view=${v} onSaved=${policy.set} />`
        : html`<p class="muted small" data-testid="policy-read-only">Only owner and admin keys can change a policy.</p>`}`}
  </section>`;
}

function SpendWindows({ view: v }) {
  const windows = [
    { id: '24h', title: 'Rolling 24 hours', spent: v.spent.last_24h, cap: v.effective.spend_cap_24h_eth, left: v.remaining.spend_cap_24h },
    { id: '7d', title: 'Rolling 7 days', spent: v.spent.last_7d, cap: v.effective.spend_cap_7d_eth, left: v.remaining.spend_cap_7d },
  ];
  return html`<div class="policy-windows">
    ${windows.map(
      (w) => html`<div class="card card-pad policy-window" data-testid=${`policy-window-${w.id}`}>
        <div class="muted small">${w.title}</div>
        <dl class="details">
          <dt>Sent or pending</dt><dd data-testid="window-spent"><${EthAmount} amount=${w.spent} unit /></dd>
          <dt>Cap</dt><dd data-testid="window-cap">${w.cap === null ? html`<span class="muted">no cap</span>` : `${w.cap} ETH`}</dd>
          <dt>Remaining</dt><dd data-testid="window-remaining">${w.left === null ? html`<span class="muted">—</span>` : html`<${EthAmount} amount=${w.left} unit />`}</dd>
        </dl>
        ${w.left !== null && html`<${CapBar} spent=${w.spent} left=${w.left} />`}
      </div>`,
    )}
  </div>`;
}

/** How much of a cap is used, as a bar (wei compared as BigInt; no floats in the amounts). */
function CapBar({ spent, left }) {
  const total = BigInt(spent.wei) + BigInt(left.wei);
  const pct = total === 0n ? 100 : Number((BigInt(spent.wei) * 1000n) / total) / 10;
  const used = Math.min(100, pct);
  return html`<div class="cap-bar" role="img" aria-label=${`${used}% of the cap used`}>
    <span class=${`cap-bar-fill ${used >= 100 ? 'full' : ''}`} style=${{ width: `${used}%` }}></span>
  </div>`;
}

function EffectiveTable({ view: v }) {
  return html`<div class="card">
    <div class="table-scroll">
      <table class="table" data-testid="policy-effective">
        <thead>
          <tr>
            <th>Rule</th>
            <th>Effective</th>
            <th>Source</th>
            <th>Policy file default</th>
          </tr>
        </thead>
        <tbody>
          ${RULES.map(
            (r) => html`<tr data-testid="policy-rule" data-field=${r.field} data-source=${v.sources[r.field]}>
              <td class="nowrap"><span class="strong">${r.label}</span><div class="muted small"><code>${r.field}</code></div></td>
              <td data-testid="policy-value"><${RuleValue} rule=${r} value=${v.effective[r.field]} /></td>
              <td><${SourceTag} source=${v.sources[r.field]} /></td>
              <td class="muted"><${RuleValue} rule=${r} value=${v.defaults[r.field]} /></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </div>`;
}

function SourceTag({ source }) {
  return html`<span class=${`tag source-${source}`} data-testid="policy-source" title=${source === 'wallet' ? 'Set for this wallet (overrides the file)' : source === 'file' ? 'Inherited from the policy file' : 'Neither the wallet nor the file sets it'}
    >${SOURCE_TEXT[source] ?? source}</span
  >`;
}

/** A rule's value as text: ETH amounts, address lists with labels, chains, a quiet-hours window. */
function RuleValue({ rule, value }) {
  if (value === undefined) return html`<span class="muted">—</span>`;
  if (value === null) return html`<span class="muted">no rule</span>`;
  switch (rule.kind) {
    case 'eth':
      return html`<span class="amount">${value} ETH</span>`;
    case 'chains':
      return html`<span class="policy-list">${value.map((id) => html`<${ChainLabel} chainId=${id} />`)}</span>`;
    case 'destinations':
      if (value.length === 0) return html`<span class="muted">${rule.field === 'allowed_destinations' ? 'none: every send is refused' : 'none'}</span>`;
      return html`<ul class="param-list">
        ${value.map((d) => html`<li><${Hex} value=${d.address} short />${d.label && html` <span class="tag">${d.label}</span>`}</li>`)}
      </ul>`;
    case 'quiet':
      return html`<span>
        ${value.start}–${value.end} ${value.timezone}${value.days ? ` (${value.days.join(', ')})` : ', every day'} ·
        ${value.action === 'deny' ? ' sends refused' : ' sends need approval'}
      </span>`;
    default:
      return html`<span>${JSON.stringify(value)}</span>`;
  }
}

function RateLimits({ limits, agentId }) {
  const rows = [
    limits.default && ['Every tool call of one key', limits.default],
    limits.agent && [`Calls naming ${agentId}`, limits.agent],
    ...Object.entries(limits.tools).map(([tool, l]) => [html`<code>${tool}</code> by one key`, l]),
  ].filter(Boolean);
  return html`<div class="policy-rate-limits" data-testid="policy-rate-limits">
    <h3 class="detail-heading">Rate limits</h3>
    ${rows.length === 0
      ? html`<p class="muted small">No rate limits in the policy file.</p>`
      : html`<dl class="details">
          ${rows.map(([what, l]) => html`<dt>${what}</dt><dd>${l.max_calls} calls per ${l.window_seconds} s</dd>`)}
        </dl>`}
  </div>`;
}

// ---------- editor ----------

const emptyQuiet = () => ({ start: '', end: '', timezone: 'UTC', days: [], action: 'deny' });

/** The editor's value of a rule from a policy value (the wallet's, else the file's as a start). */
function toDraftValue(kind, value) {
  if (kind === 'eth') return value ?? '';
  if (kind === 'chains') return value ? value.join(', ') : '';
  if (kind === 'destinations') return value && value.length ? value.map((d) => ({ address: d.address, label: d.label ?? '' })) : [{ address: '', label: '' }];
  if (kind === 'quiet') return value ? { ...emptyQuiet(), ...value, days: value.days ?? [] } : emptyQuiet();
  return value;
}

/** Draft per rule: `mode` inherit (leave out) | set | none (null: lifted for this wallet). */
function draftOf(view) {
  const own = view.wallet ?? {};
  return Object.fromEntries(
    RULES.map((r) => {
      const has = Object.hasOwn(own, r.field);
      const mode = !has ? 'inherit' : own[r.field] === null ? 'none' : 'set';
      return [r.field, { mode, value: toDraftValue(r.kind, has && own[r.field] !== null ? own[r.field] : view.defaults[r.field]) }];
    }),
  );
}

/**
 * The PUT body of a draft, and for destination lists which draft row each sent item came from
 * (empty rows are left out), so an error on `policy.allowed_destinations.1.address` marks the
 * right row.
 */
function bodyOf(draft) {
  const body = {};
  const rowMap = {};
  for (const r of RULES) {
    const { mode, value } = draft[r.field];
    if (mode === 'inherit') continue;
    if (mode === 'none') {
      body[r.field] = null;
      continue;
    }
    if (r.kind === 'eth') body[r.field] = value.trim();
    else if (r.kind === 'chains') {
      // Numbers as numbers; anything else is sent as typed, for the server to name.
      body[r.field] = value.split(/[\s,]+/).filter(Boolean).map((t) => (/^\d+$/.test(t) ? Number(t) : t));
    } else if (r.kind === 'destinations') {
      const kept = value.map((d, i) => ({ d, i })).filter(({ d }) => d.address.trim() || d.label.trim());
      rowMap[r.field] = kept.map(({ i }) => i);
      body[r.field] = kept.map(({ d }) => (d.label.trim() ? { address: d.address.trim(), label: d.label.trim() } : { address: d.address.trim() }));
    } else if (r.kind === 'quiet') {
      body[r.field] = {
        start: value.start.trim(),
        end: value.end.trim(),
        timezone: value.timezone.trim() || 'UTC',
        ...(value.days.length ? { days: DAYS.filter((d) => value.days.includes(d)) } : {}),
        action: value.action,
      };
    }
  }
  return { body, rowMap };
}

/** Which rule (and destination row) an API error names: `policy.<rule>[.<index>[.<field>]]`. */
function errorTarget(err, rowMap) {
  const field = err && err.details && typeof err.details.field === 'string' ? err.details.field : '';
  const [root, rule, index] = field.split('.');
  if (root !== 'policy' || !rule) return null;
  const row = index !== undefined && /^\d+$/.test(index) && rowMap[rule] ? rowMap[rule][Number(index)] : undefined;
  return { rule, row, message: err.message };
}

function PolicyEditor({ walletId, view, onSaved }) {
  const [draft, setDraft] = useState(() => draftOf(view));
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  const [target, setTarget] = useState(null);
  const [saved, setSaved] = useState(false);
  const rowMap = useRef({});

  const update = (field, patch) => {
    setSaved(false);
    setDraft((d) => ({ ...d, [field]: { ...d[field], ...patch } }));
  };
  const done = (body) => {
    // The draft starts over from what was stored (normalized: checksummed addresses, trimmed amounts).
    setDraft(draftOf(body.policy));
    setError(null);
    setTarget(null);
    setSaved(true);
    onSaved(body.policy);
  };
  const fail = (err) => {
    setError(err);
    setTarget(errorTarget(err, rowMap.current));
  };

  const save = async (e) => {
    e.preventDefault();
    const { body, rowMap: map } = bodyOf(draft);
    rowMap.current = map;
    setBusy('save');
    try {
      done(await policyApi.put(walletId, body));
    } catch (err) {
      fail(err);
    } finally {
      setBusy(null);
    }
  };
  const clear = async () => {
    setBusy('clear');
    try {
      done(await policyApi.clear(walletId));
    } catch (err) {
      fail(err);
    } finally {
      setBusy(null);
    }
  };
  const discard = () => {
    setDraft(draftOf(view));
    setError(null);
    setTarget(null);
    setSaved(false);
  };

  return html`<form class="card card-pad policy-editor" onSubmit=${save} data-testid="policy-editor" novalidate>
    <h3>Edit this wallet’s overrides</h3>
    <p class="muted small">
      A rule left on <em>Inherit</em> follows the policy file; <em>Set</em> overrides it for this wallet; <em>No rule</em> lifts it for
      this wallet. Changes apply to the next send.
    </p>
    <${ErrorBox} error=${error} />
    ${RULES.map(
      (r) => html`<${RuleEditor}
        key=${r.field}
        rule=${r}
        entry=${draft[r.field]}
        fileValue=${view.defaults[r.field]}
        error=${target && target.rule === r.field ? target : null}
        onChange=${(patch) => update(r.field, patch)}
      />`,
    )}
    <div class="policy-actions">
      <button type="submit" class="btn btn-primary" disabled=${busy !== null} data-testid="policy-save">${busy === 'save' ? 'Saving…' : 'Save policy'}</button>
      <button type="button" class="btn" onClick=${discard} disabled=${busy !== null} data-testid="policy-discard">Discard changes</button>
      <button type="button" class="btn btn-danger" onClick=${clear} disabled=${busy !== null || !view.wallet} data-testid="policy-clear" title="Delete this wallet’s overrides: the policy file applies again">
        ${busy === 'clear' ? 'Removing…' : 'Remove overrides'}
      </button>
      ${saved && !error && html`<span class="muted small" role="status" data-testid="policy-saved">Saved.</span>`}
    </div>
  </form>`;
}

function RuleEditor({ rule: r, entry, fileValue, error, onChange }) {
  const id = `policy-${r.field}`;
  const inheritText = fileValue === undefined || fileValue === null ? 'Inherit (the file sets no rule)' : 'Inherit from the policy file';
  const noneText = r.field === 'denied_destinations' ? 'Add none (the file’s list still applies)' : 'No rule for this wallet';
  return html`<fieldset class=${`policy-rule-editor ${error ? 'has-error' : ''}`} data-testid="policy-rule-editor" data-field=${r.field}>
    <legend><span class="strong">${r.label}</span> <code class="muted small">${r.field}</code></legend>
    <div class="policy-rule-row">
      <select
        value=${entry.mode}
        onChange=${(e) => onChange({ mode: e.currentTarget.value })}
        aria-label=${`${r.label}: inherit, set or no rule`}
        data-testid="policy-mode"
      >
        <option value="inherit">${inheritText}</option>
        <option value="set">Set for this wallet</option>
        <option value="none">${noneText}</option>
      </select>
      ${entry.mode === 'inherit' && html`<span class="muted small">File: <${RuleValue} rule=${r} value=${fileValue ?? null} /></span>`}
      ${entry.mode === 'set' && (r.kind === 'eth' || r.kind === 'chains') &&
      html`<input
        id=${id}
        type="text"
        inputmode=${r.kind === 'eth' ? 'decimal' : 'numeric'}
        value=${entry.value}
        onInput=${(e) => onChange({ value: e.currentTarget.value })}
        placeholder=${r.kind === 'eth' ? '0.5' : '1, 8453'}
        aria-label=${r.label}
        aria-invalid=${error ? 'true' : undefined}
        data-testid="policy-input"
      />
      ${r.kind === 'eth' && html`<span class="muted">ETH</span>`}`}
    </div>
    ${entry.mode === 'set' && r.kind === 'destinations' && html`<${DestinationRows} rows=${entry.value} errorRow=${error ? error.row : undefined} onChange=${(value) => onChange({ value })} />`}
    ${entry.mode === 'set' && r.kind === 'quiet' && html`<${QuietHoursFields} value=${entry.value} onChange=${(value) => onChange({ value })} />`}
    <div class="muted small">${r.hint}</div>
    ${error && html`<div class="error-text small policy-field-error" role="alert" data-testid="policy-field-error">${error.message}</div>`}
  </fieldset>`;
}

function DestinationRows({ rows, errorRow, onChange }) {
  const set = (i, patch) => onChange(rows.map((d, j) => (j === i ? { ...d, ...patch } : d)));
  return html`<div class="policy-destinations">
    ${rows.map(
      (d, i) => html`<div class=${`policy-destination ${errorRow === i ? 'has-error' : ''}`} data-testid="policy-destination">
        <input
          type="text"
          class="mono"
          value=${d.address}
          onInput=${(e) => set(i, { address: e.currentTarget.value })}
          placeholder="0x… address"
          aria-label=${`Address ${i + 1}`}
          aria-invalid=${errorRow === i ? 'true' : undefined}
          data-testid="policy-destination-address"
        />
        <input type="text" value=${d.label} onInput=${(e) => set(i, { label: e.currentTarget.value })} placeholder="label (optional)" aria-label=${`Label ${i + 1}`} data-testid="policy-destination-label" />
        <button type="button" class="btn btn-small" onClick=${() => onChange(rows.filter((_, j) => j !== i))} aria-label=${`Remove address ${i + 1}`}>Remove</button>
      </div>`,
    )}
    <button type="button" class="btn btn-small" onClick=${() => onChange([...rows, { address: '', label: '' }])} data-testid="policy-destination-add">Add address</button>
  </div>`;
}

function QuietHoursFields({ value: q, onChange }) {
  const set = (patch) => onChange({ ...q, ...patch });
  const toggleDay = (day) => set({ days: q.days.includes(day) ? q.days.filter((d) => d !== day) : [...q.days, day] });
  return html`<div class="policy-quiet">
    <label class="field-inline"><span>From</span><input type="text" value=${q.start} onInput=${(e) => set({ start: e.currentTarget.value })} placeholder="22:00" size="5" data-testid="policy-quiet-start" /></label>
    <label class="field-inline"><span>to</span><input type="text" value=${q.end} onInput=${(e) => set({ end: e.currentTarget.value })} placeholder="07:00" size="5" data-testid="policy-quiet-end" /></label>
    <label class="field-inline"><span>Time zone</span><input type="text" value=${q.timezone} onInput=${(e) => set({ timezone: e.currentTarget.value })} placeholder="UTC" data-testid="policy-quiet-timezone" /></label>
    <label class="field-inline">
      <span>Then</span>
      <select value=${q.action} onChange=${(e) => set({ action: e.currentTarget.value })} data-testid="policy-quiet-action">
        <option value="deny">refuse sends</option>
        <option value="require_approval">hold sends for approval</option>
      </select>
    </label>
    <span class="policy-days" role="group" aria-label="Days the window starts on (none: every day)">
      ${DAYS.map(
        (d) => html`<label class="policy-day"><input type="checkbox" checked=${q.days.includes(d)} onChange=${() => toggleDay(d)} data-testid=${`policy-quiet-day-${d}`} />${d}</label>`,
      )}
    </span>
  </div>`;
}
