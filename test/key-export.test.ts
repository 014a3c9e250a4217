/**
 * Key material leaves only for an owner key, with ALLOW_KEY_EXPORT=1, after a second owner's
 * approval, audited (issue: "Taking the key out"). On real parts: a server and worker on Postgres
 * and anvil, the MCP SDK's client, REST, the `vaultpilot` CLI as its own process, and the admin
 * UI's Approvals page in headless Chromium, where the second owner approves.
 *
 * What was tried on the old main: an agent key held to 0.01 ETH per send and an allowlist called
 * export_wallet_keystore with a passphrase of its own, decrypted the keystore offline and sent
 * 0.5 ETH straight to the chain. Here every key but an owner is refused with a stable code, and
 * an owner gets a pending approval that a SECOND owner must approve before the export can be
 * collected, once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Wallet, decryptKeystoreJson } from 'ethers';
import { callError, callOk, chainProvider, connectMcp, countRows, freshAddress, startStack, textOf, type Stack, TEST_FERNET_KEY } from './harness.ts';
import { createKey, rest, type RestError } from './approval-harness.ts';
import { runCli } from './custody-harness.ts';
import type { Principal } from '../core/auth/api-keys.ts';
import { ARTIFACTS, openBrowser, type BrowserSession } from './browser.ts';

const EXPORT_CODE = 'correct-horse-battery-staple-42';
const AGENT = 'treasury-bot';

type ExportOut = { status: 'pending_approval' | 'exported'; approval_id: string; approval: { status: string; kind: string; decided_by: string | null; requested_by: string | null }; keystore?: string; private_key?: string; address: string };

describe('key export: owner keys, ALLOW_KEY_EXPORT, four eyes', () => {
  let stack: Stack;
  let ownerA: Client;
  let ownerBKey: string;
  let adminKey: string;
  let agentKey: { key: string; principal: Principal };
  let agent: Client;
  let walletKey: string;
  let walletId: string;
  const dir = mkdtempSync(path.join(tmpdir(), 'vp-key-export-'));

  before(async () => {
    stack = await startStack({ env: { ALLOW_KEY_EXPORT: '1', EXPORT_CODE, MAX_TX_ETH: '10' } });
    ownerA = await connectMcp(stack.url, stack.adminKey, 'streamable');
    ownerBKey = (await createKey(stack, 'owner', 'second owner')).key;
    adminKey = (await createKey(stack, 'admin', 'an admin')).key;
    agentKey = await createKey(stack, 'agent', 'the agent');
    agent = await connectMcp(stack.url, agentKey.key, 'sse');
    walletKey = Wallet.createRandom().privateKey;
    const imported = await callOk<{ wallet: { id: string } }>(ownerA, 'import_wallet_from_private_key', { agent_id: AGENT, private_key: walletKey });
    walletId = imported.wallet.id;
    await callOk(ownerA, 'request_faucet_funds', { agent_id: AGENT, amount_eth: '1' });
    // The policy of the attack: 0.01 ETH per send, to one allowed address only.
    const policy = await rest(stack, stack.adminKey, 'PUT', `/api/wallets/${walletId}/policy`, { max_tx_eth: '0.01', allowed_destinations: [freshAddress()] });
    assert.equal(policy.status, 200, JSON.stringify(policy.body));
  });

  after(async () => {
    await ownerA?.close();
    await agent?.close();
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const approvals = async () => Number((await stack.server.ctx.db.selectFrom('approvals').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

  test('the hostile agent: the policy refuses its send, and every way to take the key out is refused too', async () => {
    const thief = freshAddress();
    const send = await callError(agent, 'execute_transfer', { agent_id: AGENT, to_address: thief, amount_eth: '0.5' });
    assert.match(send.code, /^POLICY_(MAX_TX|DESTINATION_NOT_ALLOWED)$/);
    const before = await approvals();
    const tries: Array<[string, Record<string, unknown>]> = [
      ['export_wallet_keystore', { agent_id: AGENT, passphrase: 'my own passphrase' }],
      ['encrypt_wallet_keystore', { agent_id: AGENT, password: 'my own passphrase' }],
      ['export_wallet_private_key', { agent_id: AGENT, confirmation_code: 'a guess at the code' }],
    ];
    for (const [name, args] of tries) {
      const err = await callError(agent, name, args);
      assert.equal(err.code, 'FORBIDDEN', `${name}: ${err.text}`);
      assert.match(err.message, /owner/);
    }
    // REST: any key but an owner's, even an admin's.
    for (const key of [adminKey, (await createKey(stack, 'operator', 'an operator')).key]) {
      const r = await rest<RestError>(stack, key, 'POST', `/api/wallets/${walletId}/keystore`, { passphrase: 'my own passphrase' });
      assert.equal(r.status, 403);
      assert.equal(r.body.error.code, 'FORBIDDEN');
      assert.equal(r.body.error.details?.rule, 'role');
    }
    assert.equal(await approvals(), before, 'no approval was even asked for');
    const provider = chainProvider();
    assert.equal(await provider.getBalance(thief), 0n);
    provider.destroy();
    const refused = await stack.server.ctx.db.selectFrom('audit_events').select(['action', 'error_code', 'rule']).where('status', '=', 'refused').where('error_code', '=', 'FORBIDDEN').execute();
    assert.ok(refused.filter((r) => r.rule === 'role').length >= 5, 'every refusal is audited with its rule');
  });

  test('an owner asks, a second owner approves, the first collects the keystore once; nobody else can', async () => {
    const passphrase = 'a long backup passphrase';
    const asked = await callOk<ExportOut>(ownerA, 'export_wallet_keystore', { agent_id: AGENT, passphrase, reason: 'quarterly backup' });
    assert.equal(asked.status, 'pending_approval');
    assert.equal(asked.keystore, undefined, 'nothing leaves before the approval');
    assert.equal(asked.approval.kind, 'key_export');
    const id = asked.approval_id;

    // Too early: still pending, nothing exported.
    const early = await callOk<ExportOut>(ownerA, 'export_wallet_keystore', { agent_id: AGENT, passphrase, approval_id: id });
    assert.equal(early.status, 'pending_approval');
    assert.equal(early.keystore, undefined);

    // The asker cannot approve itself; an admin cannot approve an export; neither can the agent.
    const self = await rest<RestError>(stack, stack.adminKey, 'POST', `/api/approvals/${id}/approve`, {});
    assert.equal(self.body.error.code, 'APPROVAL_SELF');
    const byAdmin = await rest<RestError>(stack, adminKey, 'POST', `/api/approvals/${id}/approve`, {});
    assert.equal(byAdmin.status, 403);
    assert.equal(byAdmin.body.error.code, 'FORBIDDEN');
    const approved = await rest<{ approval: { status: string; decided_by: string } }>(stack, ownerBKey, 'POST', `/api/approvals/${id}/approve`, { note: 'ok for the backup' });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(approved.body.approval.status, 'approved');
    assert.equal(await countRows(stack, 'transactions', `wallet_id = '${walletId}' and source = 'worker'`), 0, 'an export is not a send: the worker does nothing');

    // Only the asking key collects, and only for the wallet and format it asked for.
    const stranger = await connectMcp(stack.url, ownerBKey, 'streamable');
    try {
      const theft = await callError(stranger, 'export_wallet_keystore', { agent_id: AGENT, passphrase, approval_id: id });
      assert.equal(theft.code, 'APPROVAL_MISMATCH');
    } finally {
      await stranger.close();
    }
    const otherFormat = await callError(ownerA, 'export_wallet_private_key', { agent_id: AGENT, confirmation_code: EXPORT_CODE, approval_id: id });
    assert.equal(otherFormat.code, 'APPROVAL_MISMATCH');

    const raw = (await ownerA.callTool({ name: 'encrypt_wallet_keystore', arguments: { agent_id: AGENT, password: passphrase, approval_id: id } })) as CallToolResult;
    assert.ok(!raw.isError, textOf(raw));
    const got = raw.structuredContent as ExportOut;
    assert.equal(got.status, 'exported');
    assert.ok(!textOf(raw).includes('ciphertext'), 'the keystore is never in the text summary');
    const opened = await decryptKeystoreJson(got.keystore!, passphrase);
    assert.equal(opened.privateKey, walletKey);

    const again = await callError(ownerA, 'export_wallet_keystore', { agent_id: AGENT, passphrase, approval_id: id });
    assert.equal(again.code, 'APPROVAL_NOT_PENDING', 'an approval hands its export out once');

    // Audited: who asked, who approved; never the keystore or the passphrase.
    const rows = await stack.server.ctx.db.selectFrom('audit_events').selectAll().where('wallet_id', '=', walletId).where('action', 'in', ['export_wallet_keystore', 'encrypt_wallet_keystore', 'POST /api/approvals/:id/approve']).orderBy('id').execute();
    const text = JSON.stringify(rows);
    assert.ok(!text.includes(passphrase) && !text.includes(walletKey.slice(2)) && !text.includes(JSON.parse(got.keystore!).Crypto.ciphertext));
    const collected = rows.find((r) => r.status === 'ok' && (r.response as { status?: string }).status === 'exported')!;
    assert.equal(collected.action, 'encrypt_wallet_keystore');
    assert.equal((collected.response as { approved_by: string }).approved_by, approved.body.approval.decided_by);
    assert.equal((collected.response as { keystore: string }).keystore, '[redacted]');
    assert.equal(collected.decision, 'allow');
    assert.equal(collected.rule, 'key_export');
    assert.ok(rows.some((r) => r.action === 'export_wallet_keystore' && r.decision === 'require_approval' && r.rule === 'key_export'), 'the request is audited as require_approval');
    assert.ok(rows.some((r) => r.action === 'POST /api/approvals/:id/approve' && r.status === 'ok' && r.principal === approved.body.approval.decided_by));
  });

  test('plaintext: the same four eyes, then EXPORT_CODE, whose wrong guesses lock out', async () => {
    const ask = () => callOk<ExportOut>(ownerA, 'export_wallet_private_key', { agent_id: AGENT });
    const approve = async (id: string) => assert.equal((await rest(stack, ownerBKey, 'POST', `/api/approvals/${id}/approve`, {})).status, 200);
    const first = await ask();
    assert.equal(first.status, 'pending_approval');
    await approve(first.approval_id);
    const got = await callOk<ExportOut>(ownerA, 'export_wallet_private_key', { agent_id: AGENT, confirmation_code: EXPORT_CODE, approval_id: first.approval_id });
    assert.equal(got.private_key, walletKey);

    const second = await ask();
    await approve(second.approval_id);
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) codes.push((await callError(ownerA, 'export_wallet_private_key', { agent_id: AGENT, confirmation_code: `guess-${i}`, approval_id: second.approval_id })).code);
    assert.deepEqual(codes, ['CONFIRMATION_REQUIRED', 'CONFIRMATION_REQUIRED', 'CONFIRMATION_REQUIRED', 'CONFIRMATION_REQUIRED', 'CONFIRMATION_LOCKED', 'CONFIRMATION_LOCKED']);
    // Locked: even the right code tells nothing now.
    const right = await callError(ownerA, 'export_wallet_private_key', { agent_id: AGENT, confirmation_code: EXPORT_CODE, approval_id: second.approval_id });
    assert.equal(right.code, 'CONFIRMATION_LOCKED');
    assert.equal(await countRows(stack, 'audit_events', `action = 'export_wallet_private_key' and error_code = 'CONFIRMATION_LOCKED'`), 3);
    assert.equal(Number((await stack.server.ctx.db.selectFrom('confirmation_failures').select((eb) => eb.fn.countAll<string>().as('n')).where('code', '=', 'export').executeTakeFirstOrThrow()).n), 5, 'locked-out attempts write nothing');
  });

  test('REST: 202 with the pending approval, then 200 with the keystore', async () => {
    const passphrase = 'a rest backup passphrase';
    const asked = await rest<{ status: string; approval_id: string; keystore?: string }>(stack, ownerBKey, 'POST', `/api/wallets/${walletId}/keystore`, { passphrase });
    assert.equal(asked.status, 202);
    assert.equal(asked.body.status, 'pending_approval');
    assert.equal(asked.body.keystore, undefined);
    assert.equal((await rest(stack, stack.adminKey, 'POST', `/api/approvals/${asked.body.approval_id}/approve`, {})).status, 200);
    const got = await rest<{ status: string; keystore: string }>(stack, ownerBKey, 'POST', `/api/wallets/${walletId}/keystore`, { passphrase, approval_id: asked.body.approval_id });
    assert.equal(got.status, 200);
    assert.equal((await decryptKeystoreJson(got.body.keystore, passphrase)).privateKey, walletKey);
  });

  test('CLI: vaultpilot wallets backup asks, then writes the file once approved; audited as cli under the owner key', async () => {
    const env = { DATABASE_URL: stack.databaseUrl, FERNET_KEY: TEST_FERNET_KEY, ALLOW_KEY_EXPORT: '1', VAULTPILOT_API_KEY: ownerBKey, VAULTPILOT_BACKUP_PASSPHRASE: 'a cli backup passphrase' };
    const refusedAgent = await runCli(['wallets', 'backup', '--agent-id', AGENT], { ...env, VAULTPILOT_API_KEY: agentKey.key });
    assert.equal(refusedAgent.code, 1, refusedAgent.stderr);
    assert.match(refusedAgent.stderr, /FORBIDDEN/);
    const off = await runCli(['wallets', 'backup', '--agent-id', AGENT], { ...env, ALLOW_KEY_EXPORT: '0' });
    assert.equal(off.code, 1);
    assert.match(off.stderr, /KEY_EXPORT_DISABLED/);

    const asked = await runCli(['wallets', 'backup', '--agent-id', AGENT, '--reason', 'off-site copy'], env);
    assert.equal(asked.code, 3, asked.stderr);
    const id = /approval id: ([0-9a-f-]{36})/.exec(asked.stdout)?.[1];
    assert.ok(id, asked.stdout);
    const out = path.join(dir, 'treasury.json');
    const early = await runCli(['wallets', 'backup', '--agent-id', AGENT, '--approval', id, '--out', out], env);
    assert.equal(early.code, 3);
    assert.throws(() => readFileSync(out), 'no file while it waits');

    assert.equal((await rest(stack, stack.adminKey, 'POST', `/api/approvals/${id}/approve`, {})).status, 200);
    const done = await runCli(['wallets', 'backup', '--agent-id', AGENT, '--approval', id, '--out', out], env);
    assert.equal(done.code, 0, done.stderr);
    assert.equal((await decryptKeystoreJson(readFileSync(out, 'utf8'), env.VAULTPILOT_BACKUP_PASSPHRASE)).privateKey, walletKey);
    const reuse = await runCli(['wallets', 'backup', '--agent-id', AGENT, '--approval', id, '--out', path.join(dir, 'again.json')], env);
    assert.equal(reuse.code, 1);
    assert.match(reuse.stderr, /APPROVAL_NOT_PENDING/);

    const rows = await stack.server.ctx.db.selectFrom('audit_events').selectAll().where('kind', '=', 'cli').where('action', '=', 'wallets.backup').orderBy('id').execute();
    const ownerPrefix = ownerBKey.slice(0, 11);
    assert.ok(rows.every((r) => r.principal === ownerPrefix || r.principal === agentKey.principal.keyPrefix));
    assert.ok(rows.some((r) => r.status === 'ok' && (r.response as { status: string }).status === 'exported' && (r.response as { keystore: string }).keystore === '[redacted]'));
    assert.ok(!JSON.stringify(rows).includes(env.VAULTPILOT_BACKUP_PASSPHRASE));
  });
});

describe('key export approvals in the admin UI (headless Chromium)', () => {
  let stack: Stack;
  let browser: BrowserSession | undefined;
  let approvalId = '';

  before(async () => {
    stack = await startStack({ worker: false, env: { ALLOW_KEY_EXPORT: '1' } });
    const owner = await connectMcp(stack.url, stack.adminKey, 'streamable');
    try {
      await callOk(owner, 'spin_up_wallet', { agent_id: 'ui-export' });
      approvalId = (await callOk<ExportOut>(owner, 'export_wallet_keystore', { agent_id: 'ui-export', passphrase: 'ui backup passphrase', reason: 'cold storage copy' })).approval_id;
    } finally {
      await owner.close();
    }
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  const signInAs = async (key: string) => {
    const page = browser!.page;
    if (await page.getByTestId('sign-out-button').count()) await page.getByTestId('sign-out-button').click();
    else await page.goto(`${stack.url}/admin`);
    await page.getByTestId('api-key-input').fill(key);
    await page.getByTestId('sign-in-button').click();
    await page.getByTestId('nav-approvals').click();
    return page.locator(`[data-testid="approval-card"][data-approval-id="${approvalId}"]`);
  };

  test('an admin sees the export waiting but cannot decide it; a second owner approves it; the asker collects', async () => {
    const admin = await createKey(stack, 'admin', 'ui admin');
    let card = await signInAs(admin.key);
    await card.getByTestId('approval-export').waitFor();
    assert.match(await card.getByTestId('approval-export').innerText(), /Key export: keystore/);
    assert.match(await card.getByTestId('approval-reason').innerText(), /cold storage copy/);
    await card.getByTestId('owner-only').waitFor();
    assert.equal(await card.getByTestId('approve-button').count(), 0);

    // The owner who asked sees no buttons either.
    card = await signInAs(stack.adminKey);
    await card.getByTestId('own-request').waitFor();
    assert.equal(await card.getByTestId('approve-button').count(), 0);

    const second = await createKey(stack, 'owner', 'ui second owner');
    card = await signInAs(second.key);
    await card.getByTestId('export-warning').waitFor();
    await browser!.page.screenshot({ path: `${ARTIFACTS}admin-approvals-key-export.png`, fullPage: true });
    await card.getByTestId('approve-button').click();
    await card.waitFor({ state: 'detached' });
    const row = browser!.page.locator(`[data-testid="history-row"][data-approval-id="${approvalId}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-status'), 'approved');
    await row.getByTestId('history-export').waitFor();

    const owner = await connectMcp(stack.url, stack.adminKey, 'sse');
    try {
      const got = await callOk<ExportOut>(owner, 'export_wallet_keystore', { agent_id: 'ui-export', passphrase: 'ui backup passphrase', approval_id: approvalId });
      assert.equal(got.status, 'exported');
      assert.equal(got.approval.decided_by, second.principal.keyPrefix);
    } finally {
      await owner.close();
    }
    assert.deepEqual(browser!.pageErrors, []);
  });
});
