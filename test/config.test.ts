/**
 * Configuration: every bad variable is reported at once by name, and the processes refuse to
 * start on bad values and, in production, on laptop-only defaults.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';

const root = path.resolve(import.meta.dirname, '..');

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  test('defaults', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.maxTxWei, 10n ** 17n);
    assert.equal(c.databaseUrl, undefined);
    assert.deepEqual(c.rpcUrls, []);
  });

  test('AgentVault names are accepted', () => {
    const key = 'dGVzdC1mZXJuZXQta2V5LTAwMDAwMDAwMDAwMDAwMDA=';
    const c = loadConfig({ WEB3_RPC_URL: 'http://127.0.0.1:8545', ENCRYPT_KEY: key, AGENTVAULT_MAX_TX_ETH: '0.5', AGENTVAULT_TX_CONFIRM_CODE: 'abc' });
    assert.deepEqual(c.rpcUrls, ['http://127.0.0.1:8545']);
    assert.deepEqual(c.fernetKeys, [key]);
    assert.equal(c.maxTxWei, 5n * 10n ** 17n);
    assert.equal(c.txConfirmCode, 'abc');
  });

  test('every bad value is reported at once, by name', () => {
    const p = problems({ PORT: 'eighty', FERNET_KEY: 'short', MAX_TX_ETH: '-1', RPC_URLS: 'ftp://x', LOG_LEVEL: 'loud' });
    const text = p.join('\n');
    for (const name of ['PORT', 'MAX_TX_ETH', 'LOG_LEVEL']) assert.match(text, new RegExp(name));
    assert.ok(p.length >= 3);
    assert.match(problems({ PORT: '70000' }).join(), /PORT must be an integer port/);
    assert.match(problems({ FERNET_KEY: 'not-a-key' }).join(), /FERNET_KEY must be a Fernet key/);
    assert.match(problems({ RPC_URLS: 'ftp://x' }).join(), /RPC_URLS/);
  });

  test('key providers: FERNET_KEYS lists keys newest first; KMS and Vault settings are read and checked', () => {
    const k1 = 'dGVzdC1mZXJuZXQta2V5LTAwMDAwMDAwMDAwMDAwMDA=';
    const k2 = 'b3RoZXItZmVybmV0LWtleS0wMDAwMDAwMDAwMDAwMDA=';
    assert.deepEqual(loadConfig({ FERNET_KEYS: `${k1}, ${k2}` }).fernetKeys, [k1, k2]);
    const kms = loadConfig({ KEY_PROVIDER: 'aws-kms', AWS_KMS_KEY_ID: 'alias/vaultpilot', AWS_REGION: 'eu-west-1', KEY_PROVIDER_TIMEOUT_MS: '2500' });
    assert.equal(kms.keyProvider, 'aws-kms');
    assert.deepEqual(kms.awsKms, { keyId: 'alias/vaultpilot', region: 'eu-west-1', endpoint: undefined, timeoutMs: 2500 });
    const vault = loadConfig({ KEY_PROVIDER: 'vault', VAULT_ADDR: 'http://127.0.0.1:8200', VAULT_ROLE_ID: 'r', VAULT_SECRET_ID: 's', VAULT_TRANSIT_KEY: 'vaultpilot' });
    assert.equal(vault.vault?.mount, 'transit');
    assert.equal(vault.vault?.roleId, 'r');
    assert.equal(vault.awsKms, undefined);
    assert.match(problems({ KEY_PROVIDER: 'hsm' }).join(), /KEY_PROVIDER must be one of fernet, aws-kms, vault/);
    assert.match(problems({ KEY_PROVIDER: 'aws-kms' }).join(), /AWS_KMS_KEY_ID is required when KEY_PROVIDER=aws-kms/);
    assert.match(problems({ KEY_PROVIDER: 'vault' }).join(), /VAULT_TRANSIT_KEY is required/);
    const partial = problems({ VAULT_TRANSIT_KEY: 'vaultpilot' }).join('\n');
    assert.match(partial, /VAULT_ADDR is required/);
    assert.match(partial, /VAULT_TOKEN, or VAULT_ROLE_ID with VAULT_SECRET_ID/);
    assert.match(problems({ KEY_PROVIDER_TIMEOUT_MS: '5' }).join(), /KEY_PROVIDER_TIMEOUT_MS must be an integer from 100/);
    // Production with a remote provider does not ask for a Fernet key.
    const prod = problems({ NODE_ENV: 'production', KEY_PROVIDER: 'aws-kms', AWS_KMS_KEY_ID: 'alias/x' }).join();
    assert.doesNotMatch(prod, /FERNET/);
  });

  test('plaintext export settings: ALLOW_PLAINTEXT_EXPORT is 0 or 1, EXPORT_CODE is long enough (AgentVault names too)', () => {
    assert.equal(loadConfig({}).allowKeyExport, false);
    const c = loadConfig({ AGENTVAULT_ALLOW_PLAINTEXT_EXPORT: '1', AGENTVAULT_EXPORT_CODE: 'export-code-123456' });
    assert.equal(c.allowKeyExport, true);
    assert.equal(c.exportCode, 'export-code-123456');
    assert.match(problems({ ALLOW_PLAINTEXT_EXPORT: 'yes' }).join(), /ALLOW_PLAINTEXT_EXPORT must be 0 or 1/);
    const short = problems({ EXPORT_CODE: 'abc123' }).join();
    assert.match(short, /EXPORT_CODE must be at least 12 characters/);
    assert.doesNotMatch(short, /abc123/);
  });

  test('production refuses laptop-only defaults, listing each', () => {
    const text = problems({ NODE_ENV: 'production' }).join('\n');
    for (const name of ['DATABASE_URL', 'RPC_URLS', 'FERNET_KEY']) assert.match(text, new RegExp(name));
    const weak = problems({ NODE_ENV: 'production', ADMIN_API_KEY: 'change-me-please-change-me-please' }).join();
    assert.match(weak, /ADMIN_API_KEY/);
  });

  test('secrets are not echoed in errors', () => {
    const text = problems({ FERNET_KEY: 'my-secret-value-not-a-key', ADMIN_API_KEY: 'tooshort' }).join();
    assert.doesNotMatch(text, /my-secret-value/);
    assert.doesNotMatch(text, /tooshort/);
  });
});

describe('processes refuse to start on bad configuration', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['invalid PORT', { PORT: 'abc' }, /PORT/],
    ['malformed FERNET_KEY', { FERNET_KEY: 'definitely-not-fernet' }, /FERNET_KEY/],
    ['production with defaults', { NODE_ENV: 'production' }, /DATABASE_URL[\s\S]*RPC_URLS[\s\S]*FERNET_KEY/],
  ];
  for (const entry of ['server/main.ts', 'worker/main.ts', 'scripts/start.ts']) {
    for (const [name, env, expected] of cases) {
      test(`${entry}: ${name}`, () => {
        const r = spawnSync(process.execPath, [path.join(root, entry)], {
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: path.join(root, '.data', 'config-test'), ...env },
          encoding: 'utf8',
          timeout: 30_000,
        });
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, expected);
      });
    }
  }
});
