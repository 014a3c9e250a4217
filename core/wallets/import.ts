/**
 * Importing an existing key as an agent's wallet, from a raw private key, a BIP-39 mnemonic
 * (BIP-44 / BIP-32 derivation) or a Web3 Secret Storage v3 keystore. Each turns its input into
 * the 32 key bytes, hands them to {@link importWallet} (wrap with the active key provider, insert)
 * and zeroes them. The secret inputs are never echoed in an error; nothing is written on a refusal.
 */
import type { Principal } from '../auth/api-keys.ts';
import type { CoreContext } from '../context.ts';
import type { WalletOrigin } from '../db/types.ts';
import { ValidationError } from '../errors.ts';
import { importWallet, parseAgentId, type WalletStore, type WalletView } from './service.ts';
import { deriveKeyFromMnemonic, parseMnemonic, parseMnemonicPassphrase, resolveDerivationPath } from './mnemonic.ts';
import { decryptKeystore } from './keystore.ts';

type ImportOrigin = Exclude<WalletOrigin, 'generated'>;

/**
 * Parses a private key given as 64 hex characters, with or without `0x`.
 * @returns 32 bytes the caller zeroes.
 * @throws {ValidationError} `INVALID_INPUT` naming `private_key` (the value is never echoed).
 */
export function parsePrivateKeyHex(value: unknown, field = 'private_key'): Uint8Array {
  if (typeof value !== 'string' || !/^(0x)?[0-9a-fA-F]{64}$/.test(value)) {
    throw new ValidationError(field, 'must be 64 hex characters (32 bytes), with or without a 0x prefix');
  }
  return Uint8Array.from(Buffer.from(value.startsWith('0x') ? value.slice(2) : value, 'hex'));
}

async function importBytes(ctx: WalletStore, tenantId: string, agentId: string, key: Uint8Array, origin: ImportOrigin): Promise<WalletView> {
  try {
    return await importWallet(ctx, tenantId, agentId, key, origin);
  } finally {
    key.fill(0);
  }
}

/**
 * `import_wallet_from_private_key`: stores `private_key` as `agent_id`'s new wallet.
 * @param input.private_key - 64 hex characters, `0x` optional.
 * @param options.origin - recorded origin (default `private_key`).
 * @throws {ValidationError} `INVALID_INPUT` naming `agent_id` or `private_key` (also a key outside
 *   the secp256k1 range); `ConflictError` `WALLET_EXISTS` when the agent already has a wallet or
 *   the address is another agent's; `UpstreamError` when the key provider fails.
 */
export async function importFromPrivateKey(
  ctx: WalletStore,
  principal: Pick<Principal, 'tenantId'>,
  input: { agent_id: unknown; private_key?: unknown },
  options: { origin?: ImportOrigin } = {},
): Promise<WalletView> {
  const agentId = parseAgentId(input.agent_id);
  const key = parsePrivateKeyHex(input.private_key);
  return importBytes(ctx, principal.tenantId, agentId, key, options.origin ?? 'private_key');
}

/**
 * `import_wallet_from_mnemonic`: derives a key from a BIP-39 phrase and stores it as `agent_id`'s
 * new wallet. The path is `m/44'/60'/0'/0/<account_index>` (BIP-44, index 0 by default, as
 * MetaMask and anvil derive accounts), or an explicit BIP-32 `path`; not both.
 * @param input.passphrase - optional BIP-39 passphrase (the "25th word"); empty by default.
 * @returns the wallet and the derivation path used.
 * @throws {ValidationError} `INVALID_INPUT` naming `agent_id`, `mnemonic` (word count, unknown
 *   word, checksum), `passphrase`, `path` or `account_index`; `ConflictError` `WALLET_EXISTS`;
 *   `UpstreamError` when the key provider fails.
 */
export async function importFromMnemonic(
  ctx: WalletStore,
  principal: Pick<Principal, 'tenantId'>,
  input: { agent_id: unknown; mnemonic?: unknown; passphrase?: unknown; path?: unknown; account_index?: unknown },
  options: { origin?: ImportOrigin } = {},
): Promise<{ wallet: WalletView; derivation_path: string }> {
  const agentId = parseAgentId(input.agent_id);
  const phrase = parseMnemonic(input.mnemonic);
  const passphrase = parseMnemonicPassphrase(input.passphrase);
  const path = resolveDerivationPath(input);
  const key = deriveKeyFromMnemonic(phrase, passphrase, path);
  return { wallet: await importBytes(ctx, principal.tenantId, agentId, key, options.origin ?? 'mnemonic'), derivation_path: path };
}

/**
 * `import_wallet_from_encrypted_json`: opens a Web3 Secret Storage v3 keystore with `password`
 * and stores its key as `agent_id`'s new wallet.
 * @param input.encrypted_json - the keystore as JSON text or as an object.
 * The key derivation runs in `ctx.kdf` (worker threads), after validation.
 * @throws {ValidationError} `INVALID_INPUT` naming `agent_id`, `encrypted_json` (malformed,
 *   unsupported or above geth's standard cost; see core/wallets/keystore.ts) or `password` ("does
 *   not decrypt this keystore"); `ConflictError` `WALLET_EXISTS`; `UpstreamError` when the key
 *   provider fails; `BusyError` `BUSY` (nothing written) when the key-derivation pool is full.
 */
export async function importFromKeystore(
  ctx: WalletStore & Pick<CoreContext, 'kdf'>,
  principal: Pick<Principal, 'tenantId'>,
  input: { agent_id: unknown; encrypted_json?: unknown; password?: unknown },
  options: { origin?: ImportOrigin } = {},
): Promise<WalletView> {
  const agentId = parseAgentId(input.agent_id);
  const { privateKey } = await decryptKeystore(ctx, input.encrypted_json, input.password);
  return importBytes(ctx, principal.tenantId, agentId, privateKey, options.origin ?? 'keystore');
}
