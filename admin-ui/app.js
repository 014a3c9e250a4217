// Entry point: session check, sign-in / sign-out, hash routing (#/wallets, #/transactions?…,
// #/strategies?…, #/events?…) and the page frame. Views own their data; any 401 lands back on
// sign-in.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setUnauthorizedHandler, withQuery } from './api.js';
import { ApprovalsView, PendingBadge } from './components/approvals.js';
import { EventsView } from './components/events.js';
import { SignIn } from './components/sign-in.js';
import { StrategiesView } from './components/strategies.js';
import { TransactionsView } from './components/transactions.js';
import { WalletsView } from './components/wallets.js';
import { KeysView } from './components/keys.js';
import { TenantsView } from './components/tenants.js';
import { NoAccessView, allowedViews, setPrincipal } from './components/access.js';
import { Spinner, html } from './components/ui.js';

const VIEWS = {
  wallets: { title: 'Wallets', component: WalletsView },
  transactions: { title: 'Transactions', component: TransactionsView },
  strategies: { title: 'Strategies', component: StrategiesView },
  approvals: { title: 'Approvals', component: ApprovalsView, badge: PendingBadge },
  events: { title: 'Events', component: EventsView },
  // `requires`: the permission a view needs (default api.read); see components/access.js.
  keys: { title: 'Keys', component: KeysView, requires: 'keys.manage' },
  // Only the host operator (an owner key of the default tenant) has tenants.manage.
  tenants: { title: 'Tenants', component: TenantsView, requires: 'tenants.manage' },
};

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const name = q === -1 ? raw : raw.slice(0, q);
  const params = Object.fromEntries(new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)));
  return { name: Object.hasOwn(VIEWS, name) ? name : 'wallets', params };
}

function useRoute() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const onChange = () => setRoute(parseHash());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  const setParams = (params) => {
    location.hash = withQuery(`#/${route.name}`, params);
  };
  return { ...route, setParams };
}

function App() {
  // checking → signed-in | signed-out
  const [session, setSession] = useState({ state: 'checking' });

  useEffect(() => {
    setUnauthorizedHandler(() =>
      setSession((s) =>
        s.state === 'signed-in' ? { state: 'signed-out', notice: 'Your session has ended. Sign in again.' } : s,
      ),
    );
    api.getSession().then(
      (body) => setSession({ state: 'signed-in', principal: body.principal }),
      (err) => setSession({ state: 'signed-out', error: err.status === 401 ? null : err }),
    );
  }, []);

  const signOut = async () => {
    try {
      await api.signOut();
    } catch {
      // The cookie may already be gone; the screen goes back to sign-in either way.
    }
    setSession({ state: 'signed-out', notice: 'Signed out.' });
  };

  if (session.state === 'checking') {
    return html`<div class="boot"><${Spinner} label="Loading…" /></div>`;
  }
  if (session.state === 'signed-out') {
    return html`<${SignIn}
      notice=${session.notice}
      initialError=${session.error}
      onSignedIn=${(principal) => setSession({ state: 'signed-in', principal })}
    />`;
  }
  return html`<${Shell} principal=${session.principal} onSignOut=${signOut} />`;
}

function Shell({ principal, onSignOut }) {
  // Only the views this key's role may open (an agent key gets none: it is for MCP).
  setPrincipal(principal);
  const views = allowedViews(VIEWS);
  const route = useRoute();
  const view = views[route.name] ?? Object.values(views)[0] ?? { title: 'No access', component: NoAccessView };
  useEffect(() => {
    document.title = `${view.title} · VaultPilot admin`;
  }, [view]);
  const View = view.component;
  return html`<div class="layout">
    <nav class="sidebar" aria-label="Main">
      <a class="brand" href="#/wallets">
        <img src="/admin/favicon.svg" alt="" width="24" height="24" />
        <span>VaultPilot</span>
      </a>
      <ul class="nav">
        ${Object.entries(views).map(
          ([name, v]) => html`<li>
            <a
              href=${`#/${name}`}
              class=${route.name === name ? 'active' : ''}
              aria-current=${route.name === name ? 'page' : undefined}
              data-testid=${`nav-${name}`}
              >${v.title}${v.badge && html`<${v.badge} principal=${principal} />`}</a
            >
          </li>`,
        )}
      </ul>
      <div class="sidebar-foot">
        <div class="whoami" data-testid="principal">
          <div class="strong" title=${principal.key_id}>${principal.name}</div>
          <div class="muted small">
            <span class="tag">${principal.role}</span>
            ${principal.tenant_id && html` <span title="tenant">${principal.tenant_id}</span>`}
          </div>
        </div>
        <button type="button" class="btn btn-block" onClick=${onSignOut} data-testid="sign-out-button">Sign out</button>
      </div>
    </nav>
    <main class="main">
      <${View} key=${route.name} params=${route.params} setParams=${route.setParams} />
    </main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
