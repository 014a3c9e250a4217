/**
 * Keystore key derivations (scrypt, pbkdf2: Web3 Secret Storage v3, RFC 7914, RFC 8018) run here,
 * in a few worker threads, never on the event loop: one geth-standard scrypt is about a second of
 * CPU and 256 MiB, and on the main thread it stalled every other request (`/healthz` answered in
 * seconds behind a few imports). The pool bounds both: at most `threads` derivations run at once (memory: at
 * most `threads` × 256 MiB) and at most `queue` wait; a call beyond that is refused with `BUSY`
 * and a retry hint instead of piling up.
 */
import { Piscina } from 'piscina';
import type { Config } from '../../config.ts';
import { BusyError } from '../../errors.ts';
import type { DecryptRefusal, KdfResult, KdfTask } from './worker.ts';

const WORKER_FILE = new URL('./worker.ts', import.meta.url).href;
/** An idle thread exits after this long (ms); the next derivation starts one again (a fraction of a second). */
const IDLE_TIMEOUT_MS = 60_000;
/** The retry hint before any derivation has been timed: about one geth-standard scrypt, in seconds. */
const FIRST_ESTIMATE_S = 1;
const MAX_RETRY_AFTER_S = 60;

/** Settings of a {@link KdfPool}. */
export interface KdfPoolOptions {
  /** Derivations run at once, one per worker thread (`KDF_THREADS`, 1-16). */
  threads: number;
  /** Derivations that may wait for a thread (`KDF_QUEUE`, 0-1000); more are refused with `BUSY`. */
  queue: number;
}

/** A snapshot of a {@link KdfPool}'s counters (tests and benchmarks read it). */
export interface KdfPoolStats {
  threads: number;
  queueLimit: number;
  /** Derivations admitted and not finished: running plus waiting. */
  inFlight: number;
  /** Derivations admitted since the pool was made. */
  submitted: number;
  /** Calls refused with `BUSY` since the pool was made. */
  refused: number;
  /** Moving average of one derivation's run time in its thread, in seconds (`undefined` before the first). */
  averageSeconds: number | undefined;
}

/** The outcome of opening a keystore: its 32 key bytes (the caller zeroes them) or why not. */
export type KeystoreOpening = { ok: true; privateKey: Uint8Array } | { ok: false; reason: DecryptRefusal };

/**
 * A process's key-derivation threads (piscina), created by `openCore` (and the CLI context) from
 * `KDF_THREADS` / `KDF_QUEUE` and closed with it. Threads start on first use and exit when idle.
 * Callers validate a keystore's cost (core/wallets/keystore.ts) before handing it here: the pool
 * bounds how many derivations run, not how expensive one is.
 */
export class KdfPool {
  readonly #pool: Piscina<KdfTask, KdfResult>;
  readonly #threads: number;
  readonly #queue: number;
  #inFlight = 0;
  #submitted = 0;
  #refused = 0;
  #averageSeconds: number | undefined;
  #closed = false;

  /** @param options - thread count and queue length; see {@link KdfPoolOptions}. */
  constructor(options: KdfPoolOptions) {
    if (!Number.isInteger(options.threads) || options.threads < 1) throw new RangeError('KdfPool threads must be a positive integer');
    if (!Number.isInteger(options.queue) || options.queue < 0) throw new RangeError('KdfPool queue must be a non-negative integer');
    this.#threads = options.threads;
    this.#queue = options.queue;
    // Admission is counted here (see #run), so piscina's own queue never refuses.
    this.#pool = new Piscina({ filename: WORKER_FILE, minThreads: 0, maxThreads: options.threads, idleTimeout: IDLE_TIMEOUT_MS, maxQueue: Infinity });
  }

  /** A pool sized by `KDF_THREADS` and `KDF_QUEUE`. */
  static fromConfig(config: Pick<Config, 'kdfThreads' | 'kdfQueue'>): KdfPool {
    return new KdfPool({ threads: config.kdfThreads, queue: config.kdfQueue });
  }

  /**
   * Derives the keystore's key from `password` and decrypts it (ethers `decryptKeystoreJsonSync`
   * in a thread, aes-128-ctr with the keccak-256 MAC check of Web3 Secret Storage v3).
   * @param json - keystore v3 JSON text, already checked by `parseKeystoreJson`.
   * @returns the 32 key bytes, moved out of the thread (the caller zeroes them), or the reason
   *   it did not open: `password` (MAC mismatch), `address` (the key is not the keystore's
   *   address) or `malformed`.
   * @throws {BusyError} `BUSY` (503, `details.retry_after_seconds`) when `threads + queue`
   *   derivations are already admitted, or the pool is closed.
   */
  async decryptKeystore(json: string, password: string): Promise<KeystoreOpening> {
    const out = await this.#run({ op: 'decrypt', json, password });
    if (out.op !== 'decrypt') throw new Error('key-derivation thread answered another task');
    return out.ok ? { ok: true, privateKey: out.privateKey } : { ok: false, reason: out.reason };
  }

  /**
   * Writes a keystore v3 of `privateKey` with `password`: scrypt n=2^17, r=8, p=1, aes-128-ctr
   * (ethers `encryptKeystoreJsonSync`, the same output as `Wallet.encrypt`).
   * @param privateKey - 32 bytes; a copy is moved to the thread and zeroed there, the caller's
   *   own bytes stay the caller's to zero.
   * @param address - the key's 0x address (recorded in the keystore).
   * @returns the keystore JSON text.
   * @throws {BusyError} `BUSY` as {@link decryptKeystore}.
   */
  async encryptKeystore(privateKey: Uint8Array, address: string, password: string): Promise<string> {
    const copy = Uint8Array.from(privateKey);
    try {
      const out = await this.#run({ op: 'encrypt', privateKey: copy, address, password }, [copy.buffer]);
      if (out.op !== 'encrypt') throw new Error('key-derivation thread answered another task');
      return out.keystore;
    } finally {
      // Wipes the copy of a task never sent; once sent the buffer is the thread's (detached here).
      if (copy.buffer.byteLength > 0) copy.fill(0);
    }
  }

  /** Current counters. */
  stats(): KdfPoolStats {
    return { threads: this.#threads, queueLimit: this.#queue, inFlight: this.#inFlight, submitted: this.#submitted, refused: this.#refused, averageSeconds: this.#averageSeconds };
  }

  /** Stops the threads; derivations still waiting are rejected, later calls get `BUSY`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.destroy();
  }

  async #run(task: KdfTask, transferList: ArrayBuffer[] = []): Promise<KdfResult> {
    if (this.#closed) throw new BusyError('BUSY', 'this server is shutting down; retry the call (another replica, or this one once restarted)', 1);
    if (this.#inFlight >= this.#threads + this.#queue) {
      this.#refused++;
      const retryAfter = this.#retryAfterSeconds();
      throw new BusyError(
        'BUSY',
        `too many keystore key derivations at once (${this.#threads} running, ${this.#queue} waiting); retry in ${retryAfter} s`,
        retryAfter,
      );
    }
    this.#inFlight++;
    this.#submitted++;
    try {
      const out = await this.#pool.run(task, { transferList });
      const seconds = out.ms / 1000;
      this.#averageSeconds = this.#averageSeconds === undefined ? seconds : 0.8 * this.#averageSeconds + 0.2 * seconds;
      return out;
    } finally {
      this.#inFlight--;
    }
  }

  /** The retry hint: seconds until the derivations admitted now have drained, by the recent average. */
  #retryAfterSeconds(): number {
    const perTask = this.#averageSeconds ?? FIRST_ESTIMATE_S;
    return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil((perTask * this.#inFlight) / this.#threads)));
  }
}
