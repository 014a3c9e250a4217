/**
 * Off-chain signatures with a wallet's key: EIP-191 `personal_sign` messages and EIP-712 typed
 * data, and their verification (recovering the signer's address).
 *
 * Safety rule: typed data whose `domain.chainId` names another chain than the one this server
 * serves is refused, so an agent cannot be talked into signing, say, a mainnet permit from a test
 * deployment. Typed data without a `chainId` is signed as given.
 */
import { Signature, TypedDataEncoder, getBytes, hashMessage, recoverAddress, type TypedDataField } from 'ethers';
import { z } from 'zod';
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import { ValidationError } from '../errors.ts';
import { parseAddress } from '../money.ts';
import { getWalletByAgent, withSigner } from './service.ts';

/** Longest message accepted (characters of the argument, either encoding). */
const MAX_MESSAGE_LENGTH = 100_000;
/** Longest typed data accepted (characters of its JSON). */
const MAX_TYPED_DATA_LENGTH = 100_000;
/** EIP-712's domain fields, in the order the domain separator encodes them. */
const DOMAIN_FIELDS = ['name', 'version', 'chainId', 'verifyingContract', 'salt'] as const;

/** How `message` is read: UTF-8 text (default) or 0x-prefixed hex bytes. */
export type MessageEncoding = 'utf8' | 'hex';

/**
 * The bytes (or text) a message argument stands for.
 * @throws {ValidationError} `INVALID_INPUT` naming `message` or `encoding`.
 */
export function parseMessage(message: unknown, encoding: unknown = 'utf8'): string | Uint8Array {
  if (encoding !== 'utf8' && encoding !== 'hex') throw new ValidationError('encoding', 'must be "utf8" (text, the default) or "hex" (0x-prefixed bytes)');
  if (typeof message !== 'string' || message.length > MAX_MESSAGE_LENGTH) {
    throw new ValidationError('message', `must be a string of at most ${MAX_MESSAGE_LENGTH} characters`);
  }
  if (encoding === 'utf8') return message;
  if (!/^0x([0-9a-fA-F]{2})*$/.test(message)) throw new ValidationError('message', 'must be 0x followed by an even number of hex characters when encoding is "hex"');
  return getBytes(message);
}

/**
 * Parses a 65-byte `r‖s‖v` signature (or a 64-byte EIP-2098 compact one) as 0x hex.
 * @throws {ValidationError} `INVALID_INPUT` naming `signature`.
 */
export function parseSignature(value: unknown, field = 'signature'): Signature {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{128}([0-9a-fA-F]{2})?$/.test(value)) {
    throw new ValidationError(field, 'must be a 0x-prefixed 65-byte signature (130 hex characters: r, s, v) or a 64-byte EIP-2098 compact one');
  }
  try {
    return Signature.from(value);
  } catch {
    throw new ValidationError(field, 'is not a valid secp256k1 signature (bad v, or r/s out of range)');
  }
}

function recover(digest: string, sig: Signature, field: string): string {
  try {
    return recoverAddress(digest, sig);
  } catch {
    throw new ValidationError(field, 'does not recover to any address (r is not a point on the curve)');
  }
}

/** A signature made here, with what was signed. */
export interface MessageSignature {
  agent_id: string;
  address: string;
  /** 65-byte `r‖s‖v` signature, 0x hex. */
  signature: string;
  /** EIP-191 version 0x45 hash: keccak256("\x19Ethereum Signed Message:\n" + length + message). */
  message_hash: string;
}

/**
 * `sign_message`: EIP-191 `personal_sign` of `message` (UTF-8 text, or bytes with encoding "hex")
 * with `agent_id`'s key.
 * @throws {ValidationError} `INVALID_INPUT` naming `agent_id`, `message` or `encoding`;
 *   `NotFoundError` `WALLET_NOT_FOUND`; `UpstreamError` when the key provider fails.
 */
export async function signMessage(ctx: CoreContext, principal: Principal, input: { agent_id: unknown; message: unknown; encoding?: unknown }): Promise<MessageSignature> {
  const message = parseMessage(input.message, input.encoding);
  const row = await getWalletByAgent(ctx, principal, input.agent_id);
  const signature = await withSigner(ctx, row, (signer) => signer.signMessage(message));
  return { agent_id: row.agent_id, address: row.address, signature, message_hash: hashMessage(message) };
}

/** Whether a signature is `address`'s, and whose it is. */
export interface Verification {
  valid: boolean;
  /** The address the signature recovers to (EIP-55). */
  recovered_address: string;
}

/**
 * `verify_message`: recovers the EIP-191 signer of `message` and compares it with `address`.
 * @throws {ValidationError} `INVALID_ADDRESS` (`address`); `INVALID_INPUT` naming `message`,
 *   `encoding` or `signature` (malformed, or recovering no address).
 */
export function verifyMessage(input: { address: unknown; message: unknown; signature: unknown; encoding?: unknown }): Verification & { message_hash: string } {
  const address = parseAddress('address', input.address);
  const message = parseMessage(input.message, input.encoding);
  const sig = parseSignature(input.signature);
  const digest = hashMessage(message);
  const recovered = recover(digest, sig, 'signature');
  return { valid: recovered === address, recovered_address: recovered, message_hash: digest };
}

const typedDataSchema = z.object({
  types: z.record(z.string(), z.array(z.object({ name: z.string(), type: z.string() }).loose(), 'must be an array of {name, type} fields')),
  primaryType: z.string('must be the name of the struct being signed').min(1, 'must be the name of the struct being signed'),
  domain: z.record(z.string(), z.unknown(), 'must be an object (name, version, chainId, verifyingContract, salt)'),
  message: z.record(z.string(), z.unknown(), 'must be an object: the primaryType struct\'s values'),
});

/** EIP-712 typed data, checked and ready for ethers (`types` without `EIP712Domain`). */
export interface TypedData {
  domain: Record<string, unknown>;
  types: Record<string, TypedDataField[]>;
  primaryType: string;
  message: Record<string, unknown>;
  /** The EIP-712 digest: keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(message)). */
  digest: string;
}

function chainIdOf(value: unknown): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'string' && /^(\d{1,78}|0x[0-9a-fA-F]{1,64})$/.test(value)) return BigInt(value);
  throw new ValidationError('typed_data.domain.chainId', 'must be an integer chain id (a number, a decimal string or 0x hex)');
}

/** The struct types reachable from `primary` (ethers refuses types the message does not use). */
function reachableTypes(types: Record<string, TypedDataField[]>, primary: string): Record<string, TypedDataField[]> {
  const out: Record<string, TypedDataField[]> = {};
  const pending = [primary];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (out[name] || !types[name]) continue;
    out[name] = types[name].map((f) => ({ name: f.name, type: f.type }));
    for (const f of types[name]) {
      const base = f.type.replace(/(\[\d*\])+$/, '');
      if (types[base] && !out[base]) pending.push(base);
    }
  }
  return out;
}

/**
 * Validates EIP-712 typed data as a wallet's `eth_signTypedData_v4` takes it:
 * `{types, primaryType, domain, message}`, as an object or JSON text. `types.EIP712Domain` is
 * optional (computed from `domain`); when given it must list exactly the domain's fields in
 * EIP-712 order. Types the primary type does not reach are ignored.
 * @param chainId - when set, a `domain.chainId` naming another chain is refused.
 * @throws {ValidationError} `INVALID_INPUT` naming the field: `typed_data`,
 *   `typed_data.<path>` for shape errors, `typed_data.primaryType`, `typed_data.domain`,
 *   `typed_data.domain.chainId` ("signing for another chain"), or `typed_data.message` when a
 *   value does not fit its type.
 */
export function parseTypedData(value: unknown, chainId?: number): TypedData {
  let input = value;
  if (typeof value === 'string') {
    if (value.length > MAX_TYPED_DATA_LENGTH) throw new ValidationError('typed_data', `is longer than ${MAX_TYPED_DATA_LENGTH} characters`);
    try {
      input = JSON.parse(value);
    } catch {
      throw new ValidationError('typed_data', 'is not valid JSON; pass {types, primaryType, domain, message} as an object or JSON text');
    }
  } else if (JSON.stringify(value ?? null).length > MAX_TYPED_DATA_LENGTH) {
    throw new ValidationError('typed_data', `is longer than ${MAX_TYPED_DATA_LENGTH} characters of JSON`);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ValidationError('typed_data', 'must be EIP-712 typed data: an object {types, primaryType, domain, message}');
  }
  for (const key of ['types', 'primaryType', 'domain', 'message'] as const) {
    if ((input as Record<string, unknown>)[key] === undefined) throw new ValidationError(`typed_data.${key}`, 'is required (EIP-712 typed data is {types, primaryType, domain, message})');
  }
  const parsed = typedDataSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(`typed_data.${issue.path.map(String).join('.')}`, issue.message);
  }
  const { types, primaryType, domain, message } = parsed.data;
  if (primaryType === 'EIP712Domain' || !types[primaryType]) {
    throw new ValidationError('typed_data.primaryType', `"${primaryType}" must name a struct defined in typed_data.types (other than EIP712Domain)`);
  }
  const present = Object.keys(domain).filter((k) => domain[k] !== undefined && domain[k] !== null);
  const unknown = present.find((k) => !(DOMAIN_FIELDS as readonly string[]).includes(k));
  if (unknown) throw new ValidationError('typed_data.domain', `"${unknown}" is not an EIP-712 domain field (name, version, chainId, verifyingContract, salt)`);
  if (types.EIP712Domain) {
    const listed = types.EIP712Domain.map((f) => f.name);
    const expected = DOMAIN_FIELDS.filter((f) => present.includes(f));
    if (listed.join(',') !== expected.join(',')) {
      throw new ValidationError('typed_data.types.EIP712Domain', `must list the domain's fields in EIP-712 order (${expected.join(', ') || 'none'}); it lists ${listed.join(', ') || 'none'}`);
    }
  }
  if (domain.chainId !== undefined && domain.chainId !== null && chainId !== undefined) {
    const requested = chainIdOf(domain.chainId);
    if (requested !== BigInt(chainId)) {
      throw new ValidationError('typed_data.domain.chainId', `is ${requested}, but this server signs for chain ${chainId}: signing for another chain is refused`);
    }
  }
  const structs = reachableTypes(types, primaryType);
  let digest: string;
  try {
    digest = TypedDataEncoder.hash(domain, structs, message);
  } catch (err) {
    const e = err as { shortMessage?: string; argument?: string };
    const reason = e.shortMessage ?? 'does not match its types';
    const field = e.argument?.startsWith('domain') ? 'typed_data.domain' : e.argument === 'types' || e.argument === 'type' || e.argument === 'name' ? 'typed_data.types' : 'typed_data.message';
    throw new ValidationError(field, `${reason} (EIP-712 encoding failed)`);
  }
  return { domain, types: structs, primaryType, message, digest };
}

/**
 * `sign_typed_data`: EIP-712 signature of `typed_data` with `agent_id`'s key (see
 * {@link parseTypedData}; refused when `domain.chainId` is another chain's).
 * @returns the signature, the EIP-712 digest it signs, and the signer.
 * @throws {ValidationError} `INVALID_INPUT` naming `agent_id` or the `typed_data` field;
 *   `NotFoundError` `WALLET_NOT_FOUND`; `UpstreamError` when the key provider fails.
 */
export async function signTypedData(ctx: CoreContext, principal: Principal, input: { agent_id: unknown; typed_data: unknown }): Promise<{ agent_id: string; address: string; signature: string; digest: string; primary_type: string }> {
  const data = parseTypedData(input.typed_data, ctx.chain.chainId);
  const row = await getWalletByAgent(ctx, principal, input.agent_id);
  const signature = await withSigner(ctx, row, async (signer) => signer.signingKey.sign(data.digest).serialized);
  return { agent_id: row.agent_id, address: row.address, signature, digest: data.digest, primary_type: data.primaryType };
}

/**
 * `verify_typed_data`: recovers the EIP-712 signer of `typed_data` and compares it with
 * `address`. Any chain id is accepted here (verifying is harmless).
 * @throws {ValidationError} `INVALID_ADDRESS` (`address`); `INVALID_INPUT` naming the
 *   `typed_data` field or `signature`.
 */
export function verifyTypedData(input: { address: unknown; typed_data: unknown; signature: unknown }): Verification & { digest: string } {
  const address = parseAddress('address', input.address);
  const data = parseTypedData(input.typed_data);
  const sig = parseSignature(input.signature);
  const recovered = recover(data.digest, sig, 'signature');
  return { valid: recovered === address, recovered_address: recovered, digest: data.digest };
}
