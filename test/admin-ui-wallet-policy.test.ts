/**
 * The wallet policy editor of the admin UI in headless Chromium (see browser.ts), against a real
 * server with a real `vaultpilot.yml`. An owner opens a wallet's page from the Wallets list and
 * sees each rule with its source (policy file, none) and the rolling spend windows; saves a 24 h
 * spend cap and an allowed destination with a label and sees them as the effective values with
 * source "wallet" (checked over REST); types a bad amount and sees the API's validation error next
 * to that rule while nothing changes; removes the overrides. A viewer sees the policy without the
 * editor. Screenshots land in test-artifacts/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { generateApiKey } from '../core/auth/api-keys.ts';
import { createWallet } from '../core/wallets/service.ts';
import type { WalletPolicyView } from '../core/policy/service.ts';
import { freshAddress, startStack, type Stack } from './harness.ts';
import { adminPrincipal } from './strategy-harness.ts';
import { ARTIFACTS, openBrowser, type BrowserSession } from './browser.ts';

const AGENT = 'ui-policy-agent';
const dir = mkdtempSync(path.join(tmpdir(), 'vp-ui-policy-'));
const policyFile = path.join(dir, 'vaultpilot.yml');
writeFileSync(policyFile, ['policy:', '  max_tx_eth: "2"', '  spend_cap_7d_eth: "10"', 'rate_limits:', '  default: {max_calls: 1000, window_seconds: 60}', ''].join('\n'));

describe('admin UI wallet policy editor in headless Chromium', () => {
  let stack: Stack;
  let browser: BrowserSession | undefined;
  let page: Page;
  let walletId = '';
  const payroll = freshAddress();

  const restPolicy = async (): Promise<WalletPolicyView> => {
    const res = await fetch(`${stack.url}/api/wallets/${walletId}/policy`, { headers: { Authorization: `Bearer ${stack.adminKey}` } });
    assert.equal(res.status, 200);
    return ((await res.json()) as { policy: WalletPolicyView }).policy;
  };
  const rule = (field: string) => page.locator(`[data-testid="policy-rule"][data-field="${field}"]`);
  const editor = (field: string) => page.locator(`[data-testid="policy-rule-editor"][data-field="${field}"]`);
  const signIn = async (key: string) => {
    await page.goto(`${stack.url}/admin`);
    await page.getByTestId('api-key-input').fill(key);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('nav-wallets').waitFor();
  };

  before(async () => {
    stack = await startStack({ env: { POLICY_FILE: policyFile }, worker: false });
    const principal = await adminPrincipal(stack);
    walletId = (await createWallet(stack.server.ctx, principal, AGENT)).wallet.id;
    browser = await openBrowser();
    page = browser.page;
    await signIn(stack.adminKey);
  });

  after(async () => {
    await browser?.close();
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the wallet page shows each rule with its source and the spend windows', async () => {
    await page.locator(`[data-testid="wallet-row"][data-wallet-id="${walletId}"]`).getByTestId('wallet-open').click();
    await page.getByTestId('wallet-policy').waitFor();
    await rule('max_tx_eth').waitFor();
    assert.match(page.url(), new RegExp(`#/wallets\\?id=${walletId}$`));
    assert.equal(await rule('max_tx_eth').getAttribute('data-source'), 'file');
    assert.equal((await rule('max_tx_eth').getByTestId('policy-value').innerText()).trim(), '2 ETH');
    assert.equal((await rule('spend_cap_24h_eth').getByTestId('policy-source').innerText()).trim(), 'no rule');
    assert.match(await page.getByTestId('policy-window-7d').getByTestId('window-cap').innerText(), /10 ETH/);
    assert.match(await page.getByTestId('policy-window-24h').getByTestId('window-cap').innerText(), /no cap/);
    assert.match(await page.getByTestId('policy-meta').innerText(), /vaultpilot\.yml/);
    assert.match(await page.getByTestId('policy-rate-limits').innerText(), /1000 calls per 60 s/);
  });

  test('saving a 24 h cap and an allowed destination shows them as effective, from the wallet', async () => {
    await editor('spend_cap_24h_eth').getByTestId('policy-mode').selectOption('set');
    await editor('spend_cap_24h_eth').getByTestId('policy-input').fill('0.40');
    await editor('allowed_destinations').getByTestId('policy-mode').selectOption('set');
    await editor('allowed_destinations').getByTestId('policy-destination-address').first().fill(payroll.toLowerCase());
    await editor('allowed_destinations').getByTestId('policy-destination-label').first().fill('payroll');
    await page.getByTestId('policy-save').click();
    await page.getByTestId('policy-saved').waitFor();

    await page.waitForFunction(() => document.querySelector('[data-testid="policy-rule"][data-field="spend_cap_24h_eth"]')?.getAttribute('data-source') === 'wallet');
    assert.equal((await rule('spend_cap_24h_eth').getByTestId('policy-value').innerText()).trim(), '0.4 ETH');
    const allowed = await rule('allowed_destinations').getByTestId('policy-value').innerText();
    assert.match(allowed, /payroll/);
    assert.match(await page.getByTestId('policy-window-24h').getByTestId('window-remaining').innerText(), /0\.4 ETH/);
    // max_tx_eth still comes from the file.
    assert.equal(await rule('max_tx_eth').getAttribute('data-source'), 'file');

    const v = await restPolicy();
    assert.deepEqual(v.wallet, { spend_cap_24h_eth: '0.4', allowed_destinations: [{ address: payroll, label: 'payroll' }] });
    assert.equal(v.sources.spend_cap_24h_eth, 'wallet');
    // The editor starts over from what was stored: the address is checksummed now.
    assert.equal(await editor('allowed_destinations').getByTestId('policy-destination-address').first().inputValue(), payroll);
    await page.screenshot({ path: `${ARTIFACTS}admin-wallet-policy.png`, fullPage: true });
  });

  test('a bad amount shows the API\'s validation error next to its rule, and nothing changes', async () => {
    const before = await restPolicy();
    await editor('max_tx_eth').getByTestId('policy-mode').selectOption('set');
    await editor('max_tx_eth').getByTestId('policy-input').fill('lots');
    await page.getByTestId('policy-save').click();
    const fieldError = editor('max_tx_eth').getByTestId('policy-field-error');
    await fieldError.waitFor();
    assert.match(await fieldError.innerText(), /^policy\.max_tx_eth: must be a decimal ETH amount/);
    assert.equal(await editor('max_tx_eth').getByTestId('policy-input').getAttribute('aria-invalid'), 'true');
    assert.match(await page.getByTestId('policy-editor').getByTestId('error-box').innerText(), /INVALID_INPUT/);
    assert.equal(await page.getByTestId('policy-saved').count(), 0);
    assert.equal(await editor('spend_cap_24h_eth').getByTestId('policy-field-error').count(), 0, 'only the named rule is marked');
    await page.screenshot({ path: `${ARTIFACTS}admin-wallet-policy-error.png`, fullPage: true });
    assert.deepEqual(await restPolicy(), before, 'nothing changed');

    // A bad destination marks its row.
    await editor('max_tx_eth').getByTestId('policy-mode').selectOption('inherit');
    await editor('allowed_destinations').getByTestId('policy-destination-add').click();
    await editor('allowed_destinations').getByTestId('policy-destination-address').nth(1).fill('0x1234');
    await page.getByTestId('policy-save').click();
    await editor('allowed_destinations').getByTestId('policy-field-error').waitFor();
    assert.match(await editor('allowed_destinations').getByTestId('policy-field-error').innerText(), /policy\.allowed_destinations\.1\.address/);
    assert.equal(await editor('allowed_destinations').getByTestId('policy-destination-address').nth(1).getAttribute('aria-invalid'), 'true');
    assert.deepEqual(await restPolicy(), before, 'nothing changed');
    await page.getByTestId('policy-discard').click();
    assert.equal(await page.getByTestId('policy-field-error').count(), 0);
  });

  test('Remove overrides brings back the file defaults', async () => {
    await page.getByTestId('policy-clear').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="policy-rule"][data-field="spend_cap_24h_eth"]')?.getAttribute('data-source') === 'none');
    assert.equal((await restPolicy()).wallet, null);
    assert.equal(await page.getByTestId('policy-clear').isDisabled(), true);
  });

  test('a viewer sees the policy without the editor', async () => {
    const k = generateApiKey();
    const tenant = await stack.server.ctx.db.selectFrom('tenants').select('id').where('name', '=', 'default').executeTakeFirstOrThrow();
    await stack.server.ctx.db.insertInto('api_keys').values({ tenant_id: tenant.id, name: 'ui viewer', role: 'viewer', key_prefix: k.prefix, key_hash: k.hash }).execute();
    await page.getByTestId('sign-out-button').click();
    await page.getByTestId('api-key-input').waitFor();
    await signIn(k.key);
    await page.goto(`${stack.url}/admin/#/wallets?id=${walletId}`);
    await rule('max_tx_eth').waitFor();
    await page.getByTestId('policy-read-only').waitFor();
    assert.equal(await page.getByTestId('policy-editor').count(), 0);
  });

  test('no page errors; the only failed requests are the sign-in check and the refused saves', () => {
    const { pageErrors, consoleErrors, httpErrors } = browser!;
    assert.deepEqual(pageErrors, []);
    const expected = (status: number, method: string, p: string) => httpErrors.filter((e) => e.status === status && e.method === method && new URL(e.url).pathname === p).length;
    const failed = httpErrors.map((e) => `${e.method} ${e.status} ${new URL(e.url).pathname}`);
    assert.equal(expected(400, 'PUT', `/api/wallets/${walletId}/policy`), 2, failed.join(', '));
    assert.ok(failed.every((f) => f === `PUT 400 /api/wallets/${walletId}/policy` || f === 'GET 401 /api/session'), failed.join(', '));
    assert.ok(consoleErrors.every((e) => /status of (400|401)/.test(e.text)), JSON.stringify(consoleErrors));
  });
});
