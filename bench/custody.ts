/**
 * `npm run bench:custody`: what custody costs per signature. For each key provider it measures
 * unwrap + sign (unwrap the wallet's wrapped key, build the signer, sign an EIP-1559 transfer,
 * zero the key), beside the baseline measured in the same run: signing the same transaction with
 * a key already in memory. AWS KMS and Vault are the local wire-protocol emulators on loopback
 * (test/emulators), so their rows show the client, HTTP and crypto cost without a network round
 * trip; add your network's RTT to KMS or Vault for a real deployment.
 *
 *   npm run bench:custody -- [--n 500] [--warmup 50] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Wallet, hexlify, parseEther, randomBytes, type TransactionRequest } from 'ethers';
import type { KeyProvider, WrapContext } from '../keyproviders/index.ts';
import { FernetKeyProvider, generateFernetKey } from '../keyproviders/fernet.ts';
import { AwsKmsKeyProvider } from '../keyproviders/aws-kms.ts';
import { VaultTransitKeyProvider } from '../keyproviders/vault-transit.ts';
import { startKmsEmulator } from '../test/emulators/kms.ts';
import { startVaultEmulator } from '../test/emulators/vault.ts';
import { runSequential, type Summary } from './stats.ts';
import { markdownTable } from './report.ts';

const USAGE = `usage: npm run bench:custody -- [--n 500] [--warmup 50] [--json FILE]`;

/** The transaction every iteration signs: an EIP-1559 transfer like execute_transfer's. */
const TX: TransactionRequest = {
  type: 2,
  chainId: 31337,
  nonce: 7,
  to: '0x000000000000000000000000000000000000dEaD',
  value: parseEther('0.001'),
  gasLimit: 21_000n,
  maxFeePerGas: 2_000_000_000n,
  maxPriorityFeePerGas: 1_000_000_000n,
};

interface Row {
  label: string;
  summary: Summary;
  /** p50 of this row ÷ p50 of the in-memory baseline. */
  ratioP50: number;
}

/** Unwraps, builds the signer, signs TX, zeroes the key: what withSigner does around a transfer. */
async function unwrapAndSign(provider: KeyProvider, wrapped: Awaited<ReturnType<KeyProvider['wrap']>>, context: WrapContext): Promise<string> {
  const key = await provider.unwrap(wrapped, context);
  try {
    return await new Wallet(hexlify(key)).signTransaction(TX);
  } finally {
    key.fill(0);
  }
}

/**
 * An iteration count option (a count of signatures, not an amount).
 * @throws {Error} with the usage when it is not a whole number of at least `min`.
 */
function iterations(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const count = /^\d{1,7}$/.test(value) ? Number.parseInt(value, 10) : -1;
  if (count < min) throw new Error(`${USAGE}\n--${name} must be a whole number of at least ${min} (got "${value}")`);
  return count;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { n: { type: 'string' }, warmup: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const n = iterations('n', values.n, 500, 10);
  const warmup = iterations('warmup', values.warmup, 50, 0);

  const kms = await startKmsEmulator();
  const vault = await startVaultEmulator();
  const providers: KeyProvider[] = [
    new FernetKeyProvider([generateFernetKey()]),
    new AwsKmsKeyProvider({
      keyId: kms.aliasName,
      region: kms.region,
      endpoint: kms.url,
      clientConfig: { credentials: { accessKeyId: kms.accessKeyId, secretAccessKey: kms.secretAccessKey } },
    }),
    new VaultTransitKeyProvider({ addr: vault.url, token: vault.rootToken, mount: 'transit', key: 'vaultpilot' }),
  ];
  try {
    const privateKey = randomBytes(32);
    const memory = new Wallet(hexlify(privateKey));
    const context: WrapContext = { tenantId: '00000000-0000-4000-8000-000000000000', address: memory.address };

    process.stdout.write(`custody benchmark: ${n} signatures per row after ${warmup} warm-up\n`);
    const baseline = await runSequential(n, warmup, () => memory.signTransaction(TX));
    const rows: Row[] = [{ label: 'baseline: sign with a key in memory', summary: baseline, ratioP50: 1 }];
    for (const provider of providers) {
      const wrapped = await provider.wrap(privateKey, context);
      const summary = await runSequential(n, warmup, () => unwrapAndSign(provider, wrapped, context));
      rows.push({ label: `${provider.name}: unwrap + sign`, summary, ratioP50: summary.p50Ms / baseline.p50Ms });
    }
    // The unwrap alone, so the signature's share is visible.
    for (const provider of providers) {
      const wrapped = await provider.wrap(privateKey, context);
      const summary = await runSequential(n, warmup, async () => (await provider.unwrap(wrapped, context)).fill(0));
      rows.push({ label: `${provider.name}: unwrap only`, summary, ratioP50: summary.p50Ms / baseline.p50Ms });
    }

    const fmt = (v: number) => (v >= 10 ? v.toFixed(1) : v.toFixed(3));
    process.stdout.write(
      `${markdownTable(
        ['operation', 'p50 ms', 'p99 ms', 'per s', 'p50 ÷ baseline'],
        rows.map((r) => [r.label, fmt(r.summary.p50Ms), fmt(r.summary.p99Ms), r.summary.callsPerSec.toFixed(0), `${r.ratioP50.toFixed(2)}×`]),
        [false, true, true, true, true],
      )}\n`,
    );
    if (values.json) writeFileSync(values.json, `${JSON.stringify({ n, warmup, rows }, null, 2)}\n`);
  } finally {
    for (const p of providers) p.close();
    await kms.close();
    await vault.close();
  }
}

await main();
