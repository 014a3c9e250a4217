/**
 * Keystore key derivations run in the worker-thread pool (core/wallets/kdf), on real parts: a
 * server and worker, Postgres, anvil and the MCP SDK's own client. While ten geth-standard
 * scrypt imports derive, `/healthz` keeps being answered (asserted by order, never by time); a
 * full pool answers `BUSY` with a retry hint over MCP and REST (`Retry-After`) and writes
 * nothing; keystores above geth's standard cost are refused at validation without a pool task;
 * keystores written by the pool (node's native scrypt) and by ethers (its JavaScript scrypt)
 * open with each other.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Wallet, decryptKeystoreJson, encryptKeystoreJson } from 'ethers';
import { callError, callOk, connectMcp, countRows, startStack, type Stack } from './harness.ts';
import { keystoreOfWallet } from '../core/wallets/keystore.ts';

const PASSWORD = 'kdf pool test password';
/** geth's standard scrypt (`keystore.StandardScryptN/P`) and its light one (`LightScryptN/P`). */
const GETH_STANDARD = { N: 2 ** 18, r: 8, p: 1 };
const GETH_LIGHT = { N: 2 ** 12, r: 8, p: 6 };

interface Keyed {
  wallet: { address: string; privateKey: string };
  keystore: string;
}

/** Ten distinct keys, each in a keystore ethers writes with geth's standard scrypt. */
const standard: Keyed[] = [];
let light: Keyed;

/** A copy of `keystore` with its scrypt parameters replaced (same salt, MAC and ciphertext). */
function withParams(keystore: string, params: { n?: number; r?: number; p?: number }): string {
  const json = JSON.parse(keystore) as { Crypto: { kdfparams: Record<string, number> } };
  Object.assign(json.Crypto.kdfparams, params);
  return JSON.stringify(json);
}

/** The coded error of a tool result, or `undefined` when it succeeded. */
function errorOf(result: CallToolResult): { code: string; message: string; details: Record<string, unknown> | null } | undefined {
  if (!result.isError) return undefined;
  return result._meta?.['vaultpilot/error'] as { code: string; message: string; details: Record<string, unknown> | null };
}

function importArgs(agentId: string, keystore: string): Record<string, unknown> {
  return { agent_id: agentId, encrypted_json: keystore, password: PASSWORD };
}

before(async () => {
  // ethers' own (JavaScript) scrypt writes these, in this process; the server's pool opens them
  // with node's native scrypt: that is the "written by one, opened by the other" direction.
  for (let i = 0; i < 10; i++) {
    const wallet = Wallet.createRandom();
    standard.push({ wallet, keystore: await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, PASSWORD, { scrypt: GETH_STANDARD }) });
  }
  const wallet = Wallet.createRandom();
  light = { wallet, keystore: await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, PASSWORD, { scrypt: GETH_LIGHT }) };
});

describe('key derivations with the default pool (KDF_THREADS=1, KDF_QUEUE=16)', () => {
  let stack: Stack;
  let client: Client;

  before(async () => {
    stack = await startStack();
    client = await connectMcp(stack.url, stack.adminKey, 'streamable');
  });

  after(async () => {
    await client?.close();
    await stack?.close();
  });

  test('while 10 geth-standard imports derive, /healthz is answered 20 times before the first import completes', async () => {
    let importsDone = 0;
    const imports = standard.map(async (k, i) => {
      const result = (await client.callTool({ name: 'import_wallet_from_encrypted_json', arguments: importArgs(`loop-${i}`, k.keystore) })) as CallToolResult;
      importsDone++;
      return result;
    });
    const settled = Promise.allSettled(imports);
    let allDone = false;
    void settled.then(() => {
      allDone = true;
    });

    // One /healthz after another for as long as the imports run; each notes how many imports had
    // completed and how many derivations the pool held when it was answered.
    const answered: Array<{ importsDone: number; inFlight: number | undefined }> = [];
    while (!allDone && answered.length < 100_000) {
      const res = await fetch(`${stack.url}/healthz`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      answered.push({ importsDone, inFlight: stack.server.ctx.kdf?.stats().inFlight });
    }
    const results = await settled;

    const beforeFirstImport = answered.filter((a) => a.importsDone === 0);
    assert.ok(beforeFirstImport.length >= 20, `only ${beforeFirstImport.length} /healthz answered before the first of 10 imports completed (the event loop was blocked)`);
    // …and they were answered while derivations were running, not before the imports reached the pool.
    const whileDeriving = beforeFirstImport.filter((a) => (a.inFlight ?? 0) > 0);
    assert.ok(whileDeriving.length >= 20, `only ${whileDeriving.length} /healthz answered while derivations were in flight`);

    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 'fulfilled');
      const result = (r as PromiseFulfilledResult<CallToolResult>).value;
      assert.equal(errorOf(result), undefined, `import ${i} failed: ${JSON.stringify(errorOf(result))}`);
      const wallet = (result.structuredContent as { wallet: { address: string; origin: string } }).wallet;
      assert.equal(wallet.address, standard[i]!.wallet.address);
      assert.equal(wallet.origin, 'keystore');
    }
    const stats = stack.server.ctx.kdf.stats();
    assert.equal(stats.submitted, 10);
    assert.equal(stats.refused, 0);
    assert.equal(stats.inFlight, 0);
  });

  test("geth's light parameters import; above geth's standard is refused naming encrypted_json, without a pool task", async () => {
    const before = stack.server.ctx.kdf.stats().submitted;
    const imported = await callOk<{ wallet: { address: string } }>(client, 'import_wallet_from_encrypted_json', importArgs('light', light.keystore));
    assert.equal(imported.wallet.address, light.wallet.address);
    assert.equal(stack.server.ctx.kdf.stats().submitted, before + 1);

    const base = standard[0]!.keystore;
    const tooExpensive = {
      'n-2e19': withParams(base, { n: 2 ** 19 }),
      'r-16': withParams(base, { r: 16 }),
      'p-2': withParams(base, { p: 2 }),
    };
    const wallets = await countRows(stack, 'wallets');
    const submitted = stack.server.ctx.kdf.stats().submitted;
    for (const [what, keystore] of Object.entries(tooExpensive)) {
      const err = await callError(client, 'import_wallet_from_encrypted_json', importArgs(`expensive-${what}`, keystore));
      assert.equal(err.code, 'INVALID_INPUT', what);
      assert.match(err.message, /^encrypted_json: scrypt parameters are above geth's standard/, what);
      const opened = await callError(client, 'decrypt_wallet_keystore', { encrypted_json: keystore, password: PASSWORD });
      assert.equal(opened.code, 'INVALID_INPUT', what);
      assert.match(opened.message, /^encrypted_json: /, what);
    }
    const pbkdf2 = JSON.parse(base) as { Crypto: Record<string, unknown> };
    pbkdf2.Crypto.kdf = 'pbkdf2';
    pbkdf2.Crypto.kdfparams = { c: 1_000_001, dklen: 32, prf: 'hmac-sha256', salt: (pbkdf2.Crypto.kdfparams as { salt: string }).salt };
    const slow = await callError(client, 'import_wallet_from_encrypted_json', importArgs('expensive-pbkdf2', JSON.stringify(pbkdf2)));
    assert.equal(slow.code, 'INVALID_INPUT');
    assert.match(slow.message, /^encrypted_json: pbkdf2 with 1000001 iterations is too expensive/);
    const rest = await fetch(`${stack.url}/api/wallets/import`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stack.adminKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'keystore', ...importArgs('expensive-rest', tooExpensive['p-2']) }),
    });
    assert.equal(rest.status, 400);
    const body = (await rest.json()) as { error: { code: string; details: { field: string } } };
    assert.equal(body.error.code, 'INVALID_INPUT');
    assert.equal(body.error.details.field, 'encrypted_json');
    assert.equal(stack.server.ctx.kdf.stats().submitted, submitted, 'no derivation was started for a refused keystore');
    assert.equal(await countRows(stack, 'wallets'), wallets);
  });

  test('a keystore written by export (the pool) opens with ethers in this process, and ethers-written ones open with the pool', async () => {
    const known = standard[3]!;
    const row = await stack.server.ctx.db.selectFrom('wallets').selectAll().where('agent_id', '=', 'loop-3').executeTakeFirstOrThrow();
    const submitted = stack.server.ctx.kdf.stats().submitted;
    const exported = await keystoreOfWallet(stack.server.ctx, row, 'an export passphrase');
    assert.equal(stack.server.ctx.kdf.stats().submitted, submitted + 1, 'the export derived its key in the pool');
    const params = (JSON.parse(exported.keystore) as { Crypto: { kdf: string; kdfparams: { n: number; r: number; p: number } } }).Crypto;
    assert.equal(params.kdf, 'scrypt');
    assert.deepEqual({ n: params.kdfparams.n, r: params.kdfparams.r, p: params.kdfparams.p }, { n: 2 ** 17, r: 8, p: 1 });
    const account = await decryptKeystoreJson(exported.keystore, 'an export passphrase');
    assert.equal(account.address, known.wallet.address);
    assert.equal(account.privateKey, known.wallet.privateKey);

    const opened = await callOk<{ address: string }>(client, 'decrypt_wallet_keystore', { encrypted_json: standard[4]!.keystore, password: PASSWORD });
    assert.equal(opened.address, standard[4]!.wallet.address);
    const wrong = await callError(client, 'decrypt_wallet_keystore', { encrypted_json: standard[4]!.keystore, password: 'not the password' });
    assert.match(wrong.message, /^password: does not decrypt this keystore/);
  });
});

describe('a full pool (KDF_THREADS=1, KDF_QUEUE=1)', () => {
  let stack: Stack;
  let client: Client;

  before(async () => {
    stack = await startStack({ env: { KDF_THREADS: '1', KDF_QUEUE: '1' } });
    client = await connectMcp(stack.url, stack.adminKey, 'streamable');
  });

  after(async () => {
    await client?.close();
    await stack?.close();
  });

  test('MCP: of 5 concurrent imports some complete, the rest get BUSY with retry_after_seconds, and nothing is written for them', async () => {
    const results = await Promise.all(
      standard.slice(0, 5).map((k, i) => client.callTool({ name: 'import_wallet_from_encrypted_json', arguments: importArgs(`mcp-${i}`, k.keystore) }) as Promise<CallToolResult>),
    );
    const ok = results.filter((r) => !r.isError).length;
    const busy = results.map(errorOf).filter((e) => e !== undefined);
    assert.ok(ok >= 1, 'at least one import completes');
    assert.ok(busy.length >= 1, 'at least one import is refused');
    assert.equal(ok + busy.length, 5);
    for (const e of busy) {
      assert.equal(e.code, 'BUSY');
      assert.match(e.message, /retry in \d+ s/);
      const after = e.details?.retry_after_seconds;
      assert.ok(typeof after === 'number' && Number.isInteger(after) && after >= 1, `retry_after_seconds is a whole number of seconds (${String(after)})`);
    }
    for (const [i, r] of results.entries()) {
      const rows = await countRows(stack, 'wallets', `agent_id = 'mcp-${i}'`);
      assert.equal(rows, r.isError ? 0 : 1, `mcp-${i}: a wallet row exactly when the import completed`);
    }
    assert.equal(stack.server.ctx.kdf.stats().refused, busy.length);
  });

  test('REST: refused imports answer 503 BUSY with Retry-After, and nothing is written for them', async () => {
    const responses = await Promise.all(
      standard.slice(5, 10).map((k, i) =>
        fetch(`${stack.url}/api/wallets/import`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${stack.adminKey}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ kind: 'keystore', ...importArgs(`rest-${i}`, k.keystore) }),
        }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    assert.ok(statuses.includes(201), `some imports complete (${statuses.join(', ')})`);
    assert.ok(statuses.includes(503), `some are refused (${statuses.join(', ')})`);
    assert.deepEqual(statuses.filter((s) => s !== 201 && s !== 503), []);
    for (const [i, res] of responses.entries()) {
      const body = (await res.json()) as { wallet?: { address: string }; error?: { code: string; details: { retry_after_seconds: number } } };
      if (res.status === 201) {
        assert.equal(body.wallet!.address, standard[5 + i]!.wallet.address);
        assert.equal(res.headers.get('retry-after'), null);
      } else {
        assert.equal(body.error!.code, 'BUSY');
        assert.ok(body.error!.details.retry_after_seconds >= 1);
        assert.equal(res.headers.get('retry-after'), String(body.error!.details.retry_after_seconds));
      }
      assert.equal(await countRows(stack, 'wallets', `agent_id = 'rest-${i}'`), res.status === 201 ? 1 : 0);
    }
  });
});
