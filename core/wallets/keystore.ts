/**
 * Web3 Secret Storage v3 keystores ("encrypted JSON", as geth, MetaMask, MyEtherWallet and ethers
 * write them): reading one with its password, and writing one for a wallet held here.
 *
 * Reading accepts the `pbkdf2` (hmac-sha256/sha512) and `scrypt` key derivations with
 * `aes-128-ctr`, up to what a desktop wallet accepts: geth's standard scrypt (n=2^18, r=8, p=1:
 * 256 MiB, about a second) and its light one (n=2^12, r=8, p=6) open, anything above the standard
 * (memory 128·n·r bytes above 256 MiB, or work n·r·p above 2^21) is refused before any work,
 * as is pbkdf2 above 1,000,000 iterations. Scrypt also needs n < 2^(16·r) (RFC 7914).
 *
 * Writing uses scrypt with ethers' defaults, n = 2^17, r = 8, p = 1 (about 1 s of CPU here and
 * in any client that opens it), and aes-128-ctr.
 *
 * Every derivation, reading or writing, runs in the process's key-derivation pool
 * (`ctx.kdf`, core/wallets/kdf/pool.ts), off the event loop; a full pool answers `BUSY`.
 */
import { getBytes } from 'ethers';
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import type { WalletRow } from '../db/types.ts';
import { ValidationError } from '../errors.ts';
import { addressOfKey, getWalletByAgent, withSigner } from './service.ts';

/** geth's standard scrypt: 128 · 2^18 · 8 bytes. */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;
/** geth's standard scrypt's n·r·p (2^18 · 8 · 1); light's is 2^12 · 8 · 6 = 196,608. */
const MAX_SCRYPT_WORK = 2 ** 21;
const MAX_PBKDF2_ROUNDS = 1_000_000;
/** Longest keystore JSON accepted (characters); real ones are under 1 KB, ethers' with a mnemonic under 2 KB. */
const MAX_KEYSTORE_LENGTH = 16_384;
/** Shortest passphrase a keystore is written with. */
export const MIN_KEYSTORE_PASSPHRASE = 8;
const MAX_PASSWORD_LENGTH = 1024;

/** A keystore's properties by lowercase name (geth writes `crypto`, ethers and keythereum `Crypto`). */
function prop(obj: unknown, name: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === name) return v;
  return undefined;
}

/** A positive whole keystore parameter (scrypt n, r, p, dklen; pbkdf2 iterations): a count, never money. */
function int(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number.parseInt(value, 10) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * Checks that `value` (a JSON string or an already parsed object) is a keystore v3 this server
 * will open, without decrypting it.
 * @param field - the argument name used in errors (`encrypted_json`).
 * @returns the keystore as a JSON string, for ethers.
 * @throws {ValidationError} `INVALID_INPUT` naming `field`: not JSON, not version 3, an
 *   unsupported cipher or key derivation, or parameters above geth's standard (scrypt memory
 *   128·n·r over 256 MiB or n·r·p over 2^21; pbkdf2 over 1,000,000 iterations).
 */
export function parseKeystoreJson(value: unknown, field = 'encrypted_json'): string {
  let json: unknown = value;
  if (typeof value === 'string') {
    if (value.length > MAX_KEYSTORE_LENGTH) throw new ValidationError(field, `is longer than ${MAX_KEYSTORE_LENGTH} characters; a keystore v3 file is about 500`);
    try {
      json = JSON.parse(value);
    } catch {
      throw new ValidationError(field, 'is not valid JSON; pass the keystore file\'s content (Web3 Secret Storage v3)');
    }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ValidationError(field, 'must be a keystore v3 JSON object (a string or an object with "version": 3 and "crypto")');
  }
  if (int(prop(json, 'version')) !== 3) throw new ValidationError(field, 'must be a Web3 Secret Storage keystore with "version": 3');
  const crypto = prop(json, 'crypto');
  if (prop(crypto, 'cipher') !== 'aes-128-ctr') throw new ValidationError(field, 'crypto.cipher must be "aes-128-ctr" (the only cipher keystore v3 defines)');
  for (const name of ['ciphertext', 'mac']) {
    const v = prop(crypto, name);
    if (typeof v !== 'string' || !/^(0x)?([0-9a-fA-F]{2})+$/.test(v)) throw new ValidationError(field, `crypto.${name} must be hex`);
  }
  const iv = prop(prop(crypto, 'cipherparams'), 'iv');
  if (typeof iv !== 'string' || !/^(0x)?[0-9a-fA-F]{32}$/.test(iv)) throw new ValidationError(field, 'crypto.cipherparams.iv must be 16 bytes of hex');
  const kdf = prop(crypto, 'kdf');
  const params = prop(crypto, 'kdfparams');
  if (int(prop(params, 'dklen')) !== 32) throw new ValidationError(field, 'crypto.kdfparams.dklen must be 32');
  const salt = prop(params, 'salt');
  if (typeof salt !== 'string' || !/^(0x)?([0-9a-fA-F]{2})+$/.test(salt)) throw new ValidationError(field, 'crypto.kdfparams.salt must be hex');
  if (typeof kdf === 'string' && kdf.toLowerCase() === 'scrypt') {
    const n = int(prop(params, 'n'));
    const r = int(prop(params, 'r'));
    const p = int(prop(params, 'p'));
    if (n === undefined || r === undefined || p === undefined || (n & (n - 1)) !== 0 || n < 2) {
      throw new ValidationError(field, 'crypto.kdfparams must hold scrypt n (a power of 2), r and p as positive integers');
    }
    if (128 * n * r > MAX_SCRYPT_MEMORY || n * r * p > MAX_SCRYPT_WORK) {
      throw new ValidationError(field, `scrypt parameters are above geth's standard (n=${n}, r=${r}, p=${p}): memory 128·n·r must be at most 256 MiB and n·r·p at most 2^21 (n=262144, r=8, p=1 is the most accepted); re-encrypt it with standard parameters`);
    }
    if (16 * r < 32 && n >= 2 ** (16 * r)) {
      throw new ValidationError(field, `scrypt n=${n} must be below 2^(16·r) = ${2 ** (16 * r)} (RFC 7914); re-encrypt it with standard parameters (n=262144, r=8, p=1)`);
    }
  } else if (typeof kdf === 'string' && kdf.toLowerCase() === 'pbkdf2') {
    const c = int(prop(params, 'c'));
    const prf = prop(params, 'prf');
    if (c === undefined) throw new ValidationError(field, 'crypto.kdfparams.c must be a positive integer (pbkdf2 iterations)');
    if (c > MAX_PBKDF2_ROUNDS) throw new ValidationError(field, `pbkdf2 with ${c} iterations is too expensive (at most ${MAX_PBKDF2_ROUNDS}); re-encrypt it with standard parameters`);
    if (prf !== 'hmac-sha256' && prf !== 'hmac-sha512') throw new ValidationError(field, 'crypto.kdfparams.prf must be "hmac-sha256" or "hmac-sha512"');
  } else {
    throw new ValidationError(field, 'crypto.kdf must be "scrypt" or "pbkdf2"');
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function parsePassword(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length > MAX_PASSWORD_LENGTH) {
    throw new ValidationError(field, `must be the keystore's password, a string of at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  return value;
}

/**
 * Opens a keystore v3 with its password; the key derivation runs in `ctx.kdf`, after the
 * keystore and password passed validation (a refused keystore costs no derivation).
 * @param fields - argument names for errors (default `encrypted_json`, `password`).
 * @returns the address and the 32 private key bytes, which the caller zeroes.
 * @throws {ValidationError} `INVALID_INPUT` naming the keystore field (see
 *   {@link parseKeystoreJson}; also an `address` that does not match the key) or the password
 *   field ("does not decrypt this keystore"); {@link BusyError} `BUSY` (503,
 *   `details.retry_after_seconds`) when the key-derivation pool is full.
 */
export async function decryptKeystore(
  ctx: Pick<CoreContext, 'kdf'>,
  encryptedJson: unknown,
  password: unknown,
  fields: { json: string; password: string } = { json: 'encrypted_json', password: 'password' },
): Promise<{ address: string; privateKey: Uint8Array }> {
  const json = parseKeystoreJson(encryptedJson, fields.json);
  const pw = parsePassword(password, fields.password);
  const opened = await ctx.kdf.decryptKeystore(json, pw);
  if (!opened.ok) {
    if (opened.reason === 'password') throw new ValidationError(fields.password, 'does not decrypt this keystore (wrong password)');
    if (opened.reason === 'address') throw new ValidationError(fields.json, 'its "address" is not the address of the key it holds (a corrupted or edited keystore)');
    // ethers' message for a malformed field may quote values, so it is not passed on.
    throw new ValidationError(fields.json, 'could not be decrypted: a field is malformed (check crypto.ciphertext, cipherparams and kdfparams)');
  }
  const address = addressOfKey(opened.privateKey);
  if (address === undefined) {
    opened.privateKey.fill(0);
    throw new ValidationError(fields.json, 'holds a value that is not a secp256k1 private key');
  }
  return { address, privateKey: opened.privateKey };
}

/**
 * Checks a passphrase for a new keystore: a string of 8 to 1024 characters.
 * @throws {ValidationError} `INVALID_INPUT` naming `field`.
 */
export function parseNewPassphrase(value: unknown, field = 'passphrase'): string {
  if (typeof value !== 'string' || value.length < MIN_KEYSTORE_PASSPHRASE || value.length > MAX_PASSWORD_LENGTH) {
    throw new ValidationError(field, `must be at least ${MIN_KEYSTORE_PASSPHRASE} characters (at most ${MAX_PASSWORD_LENGTH}); anyone with the keystore can try to guess it offline`);
  }
  return value;
}

/** A keystore written for a wallet held here. */
export interface KeystoreExport {
  agent_id: string;
  address: string;
  /** The keystore v3 JSON text (scrypt n=2^17, r=8, p=1; aes-128-ctr). */
  keystore: string;
}

/**
 * Encrypts a wallet's key into a keystore v3 with `passphrase` (what ethers `Wallet.encrypt`
 * writes: scrypt n=2^17, r=8, p=1), the derivation in `ctx.kdf`. The key is unwrapped for this
 * one call; its bytes are zeroed after.
 * @param field - the passphrase argument's name for errors (`passphrase`; `password` for AgentVault's
 *   `encrypt_wallet_keystore`).
 * @throws {ValidationError} `INVALID_INPUT` naming `field`; `UpstreamError` when the key provider
 *   fails; {@link BusyError} `BUSY` when the key-derivation pool is full.
 */
export async function keystoreOfWallet(ctx: Pick<CoreContext, 'keys' | 'kdf'>, row: WalletRow, passphrase: unknown, field = 'passphrase'): Promise<KeystoreExport> {
  const pw = parseNewPassphrase(passphrase, field);
  const keystore = await withSigner(ctx, row, async (signer) => {
    // withSigner zeroes its own bytes; this copy is ours to zero.
    const key = getBytes(signer.privateKey);
    try {
      return await ctx.kdf.encryptKeystore(key, signer.address, pw);
    } finally {
      key.fill(0);
    }
  });
  return { agent_id: row.agent_id, address: row.address, keystore };
}

/**
 * `decrypt_wallet_keystore`: checks that `password` opens the keystore and returns its address.
 * The private key is returned too only when `ALLOW_KEY_EXPORT=1` (the caller already holds
 * the keystore and its password, so the export code is not asked); otherwise it stays out of the
 * response, and the way to use the wallet is to import it (`import_wallet_from_encrypted_json`).
 * Nothing is stored.
 * @throws {ValidationError} `INVALID_INPUT` naming `encrypted_json` or `password`;
 *   {@link BusyError} `BUSY` when the key-derivation pool is full.
 */
export async function openKeystore(ctx: Pick<CoreContext, 'config' | 'kdf'>, encryptedJson: unknown, password: unknown): Promise<{ address: string; private_key?: string; private_key_included: boolean }> {
  const { address, privateKey } = await decryptKeystore(ctx, encryptedJson, password);
  try {
    if (!ctx.config.allowKeyExport) return { address, private_key_included: false };
    return { address, private_key: `0x${Buffer.from(privateKey).toString('hex')}`, private_key_included: true };
  } finally {
    privateKey.fill(0);
  }
}
