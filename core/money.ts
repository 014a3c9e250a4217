/**
 * Amounts and addresses at the edge. Money is never a float: decimal strings (or, for AgentVault
 * compatibility, JSON numbers) become wei as `bigint` here, and leave as decimal strings via
 * ethers' `formatUnits`.
 */
import { formatUnits, getAddress, isAddress } from 'ethers';
import { ValidationError } from './errors.ts';

const DECIMAL_RE = /^(\d+)(?:\.(\d+))?$/;
const EXPONENT_RE = /^(\d+)(?:\.(\d+))?e([+-]?\d+)$/i;

/**
 * Writes a JSON number the way it was written, as a plain decimal string. JavaScript prints
 * numbers in their shortest round-trip form, so `0.1` stays "0.1" and `1e-7` becomes "0.0000001".
 */
export function numberToDecimal(value: number): string {
  const text = String(value);
  const m = EXPONENT_RE.exec(text);
  if (!m) return text;
  const digits = (m[1] ?? '') + (m[2] ?? '');
  const point = (m[1] ?? '').length + Number(m[3]);
  if (point <= 0) return `0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** The most wei an EVM value or balance can hold: 2^256 - 1. */
export const MAX_WEI = 2n ** 256n - 1n;

/**
 * The decimal `int.frac` (digits only; `frac` at most `decimals` long) in units of 10^-decimals,
 * exactly, or `null` when that is more than {@link MAX_WEI}. (ethers' `parseUnits` throws a bare
 * overflow error for numbers wider than its fixed width instead.)
 */
export function decimalToUnits(int: string, frac: string, decimals: number): bigint | null {
  const digits = int.replace(/^0+/, '');
  // MAX_WEI has 78 digits: anything with more is above it, and is not worth a BigInt.
  if (digits.length + decimals > 78) return null;
  const units = BigInt(digits || '0') * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0');
  return units > MAX_WEI ? null : units;
}

/**
 * Parses an ETH amount into wei.
 *
 * @param field - argument name used in the error (e.g. `amount_eth`).
 * @param value - decimal string like "0.015" (at most 18 decimals), or a finite JSON number.
 * @returns wei, strictly positive.
 * @throws {ValidationError} `INVALID_AMOUNT` naming the field and the broken rule: not a decimal,
 *   negative, zero, more than 18 decimals, or more than 2^256 - 1 wei.
 */
export function parseEthAmount(field: string, value: unknown): bigint {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError(field, 'must be a finite decimal amount in ETH', 'INVALID_AMOUNT');
    text = numberToDecimal(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    throw new ValidationError(field, 'must be a decimal string in ETH such as "0.01"', 'INVALID_AMOUNT');
  }
  if (text.startsWith('-')) throw new ValidationError(field, `must be positive (got "${text}")`, 'INVALID_AMOUNT');
  const m = DECIMAL_RE.exec(text);
  if (!m) throw new ValidationError(field, `must be a decimal number of ETH such as "0.01" (got "${text.slice(0, 40)}")`, 'INVALID_AMOUNT');
  if ((m[2] ?? '').length > 18) throw new ValidationError(field, 'has more than 18 decimals (1 wei = 0.000000000000000001 ETH)', 'INVALID_AMOUNT');
  const wei = decimalToUnits(m[1]!, m[2] ?? '', 18);
  if (wei === null) throw new ValidationError(field, 'is more ETH than can exist (at most 2^256 - 1 wei)', 'INVALID_AMOUNT');
  if (wei === 0n) throw new ValidationError(field, 'must be greater than zero', 'INVALID_AMOUNT');
  return wei;
}

/** Formats wei as a decimal ETH string without trailing zeros ("0.01", "1"). */
export function formatEth(wei: bigint): string {
  const s = formatUnits(wei, 18);
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

/** Formats wei as a decimal gwei string ("1.5"). */
export function formatGwei(wei: bigint): string {
  const s = formatUnits(wei, 9);
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

/** An amount at the edge: the decimal ETH string and the wei integer as a string. */
export interface EthAmount {
  eth: string;
  wei: string;
}

/** Builds the `{eth, wei}` pair returned by tools and REST. */
export function ethAmount(wei: bigint): EthAmount {
  return { eth: formatEth(wei), wei: wei.toString() };
}

/**
 * Validates an EVM address (EIP-55).
 *
 * @param field - argument name used in the error (e.g. `to_address`).
 * @param value - `0x` + 40 hex characters; mixed case must carry a valid EIP-55 checksum,
 *   all-lowercase or all-uppercase is accepted as unchecksummed.
 * @returns the checksummed address.
 * @throws {ValidationError} `INVALID_ADDRESS` for a malformed address or a wrong checksum.
 */
export function parseAddress(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value.trim())) {
    throw new ValidationError(field, 'must be an address: 0x followed by 40 hex characters', 'INVALID_ADDRESS');
  }
  const text = value.trim();
  if (!isAddress(text)) {
    throw new ValidationError(field, 'has an invalid EIP-55 checksum (check the letter case, or send it all lowercase)', 'INVALID_ADDRESS');
  }
  return getAddress(text);
}
