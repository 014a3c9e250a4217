/**
 * Python's `cryptography.fernet` as a test oracle: runs `/usr/bin/python3` (Debian's
 * python3-cryptography; not the first `python3` on PATH, which may be a pyenv without it) with a
 * fixed script, the inputs as JSON on stdin (so keys never appear in a process listing) and the
 * result as JSON on stdout. Bytes travel as hex.
 *
 * Addresses need eth_account, which Debian does not package: callers compute them with ethers and
 * pass them in.
 */
import { spawnSync } from 'node:child_process';

/** The interpreter with Debian's python3-cryptography. */
export const PYTHON = '/usr/bin/python3';

const SCRIPT = String.raw`
import json, sys
from cryptography.fernet import Fernet, MultiFernet, InvalidToken
import cryptography

req = json.load(sys.stdin)
op = req["op"]

def fernet(keys):
    fs = [Fernet(k.encode()) for k in keys]
    return fs[0] if len(fs) == 1 else MultiFernet(fs)

if op == "version":
    out = {"version": cryptography.__version__}
elif op == "generate_key":
    out = {"key": Fernet.generate_key().decode()}
elif op == "encrypt":
    out = {"token": fernet(req["keys"]).encrypt(bytes.fromhex(req["plaintext_hex"])).decode()}
elif op == "decrypt":
    try:
        ttl = req.get("ttl")
        f = fernet(req["keys"])
        data = f.decrypt(req["token"].encode(), ttl) if ttl is not None else f.decrypt(req["token"].encode())
        out = {"ok": True, "plaintext_hex": data.hex()}
    except InvalidToken:
        out = {"ok": False}
elif op == "rotate":
    out = {"token": MultiFernet([Fernet(k.encode()) for k in req["keys"]]).rotate(req["token"].encode()).decode()}
elif op == "agentvault_store":
    f = Fernet(req["key"].encode())
    store = {}
    for w in req["wallets"]:
        token = f.encrypt(bytes.fromhex(w["private_key_hex"]))
        store[w["agent_id"]] = {
            "address": w["address"],
            "encrypted_privkey_hex": token.hex(),
            "chain_id": w["chain_id"],
            "last_nonce": w["last_nonce"],
        }
    out = {"store": store}
else:
    raise SystemExit("unknown op " + op)

json.dump(out, sys.stdout)
`;

/**
 * Runs one operation in Python.
 * @throws {Error} when Python or its cryptography module is missing (naming the Debian package),
 *   or the script fails; the error carries Python's stderr, never the request.
 */
function run<T>(request: Record<string, unknown>): T {
  const result = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify(request), encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw new Error(`${PYTHON} could not run (${result.error.message}); install python3 and python3-cryptography`);
  if (result.status !== 0) {
    const hint = /No module named 'cryptography'/.test(result.stderr) ? ' (apt-get install -y python3-cryptography)' : '';
    throw new Error(`${PYTHON} failed${hint}: ${result.stderr.trim().split('\n').pop()}`);
  }
  return JSON.parse(result.stdout) as T;
}

/** The version of Python's cryptography package. */
export function pythonCryptographyVersion(): string {
  return run<{ version: string }>({ op: 'version' }).version;
}

/** `Fernet.generate_key()`: a new key, 44 characters of url-safe base64. */
export function pyGenerateKey(): string {
  return run<{ key: string }>({ op: 'generate_key' }).key;
}

/** `Fernet(key).encrypt(plaintext)`, or `MultiFernet([...])` when several keys are given (the first encrypts). */
export function pyEncrypt(keys: string | string[], plaintext: Uint8Array): string {
  return run<{ token: string }>({ op: 'encrypt', keys: Array.isArray(keys) ? keys : [keys], plaintext_hex: Buffer.from(plaintext).toString('hex') }).token;
}

/**
 * `Fernet(key).decrypt(token[, ttl])`, or `MultiFernet([...]).decrypt` for several keys.
 * @returns the plaintext, or `undefined` when Python raises `InvalidToken`.
 */
export function pyDecrypt(keys: string | string[], token: string, ttl?: number): Uint8Array | undefined {
  const out = run<{ ok: boolean; plaintext_hex?: string }>({ op: 'decrypt', keys: Array.isArray(keys) ? keys : [keys], token, ttl: ttl ?? null });
  return out.ok ? new Uint8Array(Buffer.from(out.plaintext_hex!, 'hex')) : undefined;
}

/** `MultiFernet([...keys]).rotate(token)`: re-encrypts under the first key. */
export function pyRotate(keys: string[], token: string): string {
  return run<{ token: string }>({ op: 'rotate', keys, token }).token;
}

/** One wallet for {@link pyAgentvaultStore}; the address is computed by the caller (ethers). */
export interface PyWallet {
  agent_id: string;
  /** 32 bytes as hex, without 0x. */
  private_key_hex: string;
  /** What the store records; may deliberately differ from the key's address. */
  address: string;
  chain_id: number;
  last_nonce: number | null;
}

/** An AgentVault wallet store as its JSON file holds it. */
export type AgentvaultStore = Record<string, { address: string; encrypted_privkey_hex: string; chain_id: number; last_nonce: number | null }>;

/**
 * Builds an AgentVault JSON wallet store the way AgentVault writes it: each key encrypted with
 * `Fernet(key).encrypt(raw 32 bytes)`, the token's ASCII bytes stored as hex.
 */
export function pyAgentvaultStore(key: string, wallets: PyWallet[]): AgentvaultStore {
  return run<{ store: AgentvaultStore }>({ op: 'agentvault_store', key, wallets }).store;
}
