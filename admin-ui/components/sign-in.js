// The sign-in screen: an API key is exchanged for an HttpOnly session cookie and then forgotten.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorBox, html } from './ui.js';

export function SignIn({ onSignedIn, notice, initialError }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(initialError ?? null);
  const input = useRef(null);

  useEffect(() => input.current?.focus(), []);
  // After a refusal, put the cursor back in the field (it was disabled while the request ran).
  useEffect(() => {
    if (error && !busy) input.current?.select();
  }, [error, busy]);

  const submit = async (e) => {
    e.preventDefault();
    const apiKey = key.trim();
    if (!apiKey) {
      setError({ code: 'INVALID_INPUT', message: 'enter an API key' });
      input.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const body = await api.signIn(apiKey);
      setKey('');
      onSignedIn(body.principal);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return html`<main class="signin-page">
    <form class="signin-card" onSubmit=${submit} novalidate>
      <div class="brand brand-large">
        <img src="/admin/favicon.svg" alt="" width="32" height="32" />
        <span>VaultPilot</span>
      </div>
      <h1>Sign in</h1>
      <p class="muted">Use an operator API key. It is exchanged for a session cookie and not stored in the browser.</p>
      ${notice && !error && html`<div class="notice" role="status">${notice}</div>`}
      <label class="field">
        <span class="field-label">API key</span>
        <input
          ref=${input}
          type="password"
          name="api_key"
          autocomplete="off"
          spellcheck=${false}
          value=${key}
          onInput=${(e) => setKey(e.currentTarget.value)}
          disabled=${busy}
          data-testid="api-key-input"
        />
      </label>
      <${ErrorBox} error=${error} />
      <button type="submit" class="btn btn-primary btn-block" disabled=${busy} data-testid="sign-in-button">
        ${busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  </main>`;
}
