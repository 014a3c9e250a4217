/**
 * The body of a key-derivation thread (run by {@link KdfPool} through piscina): opens or writes one
 * Web3 Secret Storage v3 keystore with ethers' synchronous functions, which block only this thread.
 *
 * scrypt is node's native `crypto.scryptSync` (OpenSSL, RFC 7914), registered through ethers'
 * `scryptSync.register` hook: it gives the same bytes as ethers' own JavaScript scrypt (the tests
 * check a keystore written by each opens with the other), is faster, and frees its 128·n·r bytes
 * as soon as it returns instead of leaving them to the garbage collector. pbkdf2 is already
 * node's native one in ethers.
 *
 * Secrets cross the thread boundary only as transferred buffers or task arguments: a decrypted
 * key comes back in its own `ArrayBuffer`, moved (not copied) to the caller, who zeroes it. The
 * strings ethers makes of it here (hex) cannot be wiped in JavaScript, as on the main thread before.
 */
import { scryptSync as nodeScryptSync } from 'node:crypto';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { decryptKeystoreJsonSync, encryptKeystoreJsonSync, getBytes, scryptSync } from 'ethers';

/** Node refuses scrypt above `maxmem` bytes (default 32 MiB); OpenSSL needs 128·r·(n + p + 2) of it. */
function scryptMaxmem(n: number, r: number, p: number): number {
  return 128 * r * (n + p + 2) + 1024 * 1024;
}

scryptSync.register((password, salt, n, r, p, dkLen) =>
  new Uint8Array(nodeScryptSync(password, salt, dkLen, { N: n, r, p, maxmem: scryptMaxmem(n, r, p) })),
);
scryptSync.lock();

/** What a thread is asked to do. */
export type KdfTask =
  | { op: 'decrypt'; json: string; password: string }
  /** `privateKey`: 32 bytes, transferred to this thread and zeroed here after use. */
  | { op: 'encrypt'; privateKey: Uint8Array; address: string; password: string };

/** Why a keystore did not open (ethers' own messages may quote values, so only the reason crosses). */
export type DecryptRefusal = 'password' | 'address' | 'malformed';

/** What a thread answers; `ms` is the task's run time in this thread (the pool's retry hint uses it). */
export type KdfResult =
  | { op: 'decrypt'; ok: true; privateKey: Uint8Array; ms: number }
  | { op: 'decrypt'; ok: false; reason: DecryptRefusal; ms: number }
  | { op: 'encrypt'; keystore: string; ms: number };

function decrypt(json: string, password: string): KdfResult {
  const started = performance.now();
  let hex: string;
  try {
    hex = decryptKeystoreJsonSync(json, password).privateKey;
  } catch (err) {
    const e = err as { code?: string; argument?: string };
    const reason: DecryptRefusal = e.code === 'INVALID_ARGUMENT' && e.argument === 'password' ? 'password' : e.code === 'INVALID_ARGUMENT' && e.argument === 'address' ? 'address' : 'malformed';
    return { op: 'decrypt', ok: false, reason, ms: performance.now() - started };
  }
  const privateKey = getBytes(hex);
  const result: KdfResult = { op: 'decrypt', ok: true, privateKey, ms: performance.now() - started };
  // Moved, so no copy of the key bytes stays in this thread.
  return move({ [transferableSymbol]: [privateKey.buffer], [valueSymbol]: result } as never) as never;
}

function encrypt(privateKey: Uint8Array, address: string, password: string): KdfResult {
  const started = performance.now();
  try {
    // ethers reads privateKey with getBytes, which takes bytes as they are (no hex string to leak).
    const keystore = encryptKeystoreJsonSync({ address, privateKey: privateKey as unknown as string }, password);
    return { op: 'encrypt', keystore, ms: performance.now() - started };
  } finally {
    privateKey.fill(0);
  }
}

/**
 * Runs one task (piscina calls the default export).
 * @throws {Error} only for a task that is not one of {@link KdfTask} or an ethers failure while
 *   encrypting (a programming error); keystores that do not open are answered, not thrown.
 */
export default function run(task: KdfTask): KdfResult {
  if (task.op === 'decrypt') return decrypt(task.json, task.password);
  if (task.op === 'encrypt') return encrypt(task.privateKey, task.address, task.password);
  throw new Error('unknown key-derivation task');
}
