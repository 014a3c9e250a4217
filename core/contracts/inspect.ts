/**
 * `inspect_contract`: what is deployed at an address, read with `eth_getCode` and a few
 * read-only `eth_call` probes run in parallel, each with its own short timeout and each allowed to
 * fail: ERC-20 `name()`, `symbol()`, `decimals()`, `totalSupply()` and ERC-165
 * `supportsInterface` for ERC-721 (0x80ac58cd) and ERC-1155 (0xd9b67a26). A probe that reverts,
 * times out or answers something undecodable counts as "does not answer".
 *
 * Names and symbols are text chosen by whoever deployed the contract: they are cut to 64
 * characters with control characters removed, and must be treated as untrusted.
 */
import { AbiCoder, getBytes, toUtf8String } from 'ethers';
import type { CoreContext } from '../context.ts';
import { parseAddress } from '../money.ts';

/** Time each probe may take before it counts as unanswered, in ms. */
const PROBE_TIMEOUT_MS = 3_000;
const MAX_TEXT = 64;

const SELECTORS = {
  name: '0x06fdde03',
  symbol: '0x95d89b41',
  decimals: '0x313ce567',
  totalSupply: '0x18160ddd',
  supportsInterface: '0x01ffc9a7',
} as const;
const INTERFACE_ERC721 = '0x80ac58cd';
const INTERFACE_ERC1155 = '0xd9b67a26';
/** ERC-165 requires `supportsInterface(0xffffffff)` to be false; a contract answering true to everything is not ERC-165. */
const INTERFACE_INVALID = '0xffffffff';

/** What `inspect_contract` reports. */
export interface ContractInspection {
  address: string;
  chain_id: number;
  has_code: boolean;
  code_size_bytes: number;
  /** `decimals()` and `totalSupply()` both answer (and it is not an ERC-721). */
  is_erc20: boolean;
  erc20: {
    name: string | null;
    symbol: string | null;
    decimals: number;
    /** In the token's smallest unit, decimal string. */
    total_supply: string;
    /** `total_supply / 10^decimals`, exact decimal string. */
    total_supply_units: string;
  } | null;
  /** ERC-165 `supportsInterface(0x80ac58cd)` is true. */
  is_erc721: boolean;
  erc721: { name: string | null; symbol: string | null } | null;
  /** ERC-165 `supportsInterface(0xd9b67a26)` is true. */
  is_erc1155: boolean;
}

const coder = AbiCoder.defaultAbiCoder();

function withTimeout<T>(p: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), PROBE_TIMEOUT_MS);
  });
  return Promise.race([p.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

function cleanText(s: string): string | null {
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim().slice(0, MAX_TEXT);
  return t === '' ? null : t;
}

/** ABI `string`, or a `bytes32` right-padded with zeros (early tokens such as MKR). */
function decodeText(data: string | undefined): string | null {
  if (!data || data === '0x') return null;
  try {
    return cleanText(coder.decode(['string'], data)[0] as string);
  } catch {
    const bytes = getBytes(data);
    if (bytes.length !== 32) return null;
    let end = 32;
    while (end > 0 && bytes[end - 1] === 0) end--;
    try {
      return cleanText(toUtf8String(bytes.slice(0, end)));
    } catch {
      return null;
    }
  }
}

function decodeUint(data: string | undefined): bigint | null {
  if (!data || getBytes(data).length !== 32) return null;
  return coder.decode(['uint256'], data)[0] as bigint;
}

/**
 * `value / 10^decimals` as an exact decimal string (no trailing zeros). Not ethers' `formatUnits`:
 * a token may report any `decimals` up to 255, and formatUnits refuses more than about 80.
 */
function decimalString(value: bigint, decimals: number): string {
  const digits = value.toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : whole;
}

/**
 * Inspects `address` on the served chain.
 * @throws {ValidationError} `INVALID_ADDRESS` (`address`); `UpstreamError` `RPC_UNAVAILABLE`
 *   when no endpoint answers `eth_getCode` (probe failures are not errors).
 */
export async function inspectContract(ctx: Pick<CoreContext, 'chain'>, addressInput: unknown): Promise<ContractInspection> {
  const address = parseAddress('address', addressInput);
  const code = await ctx.chain.getCode(address);
  const size = code === '0x' ? 0 : (code.length - 2) / 2;
  const result: ContractInspection = {
    address,
    chain_id: ctx.chain.chainId,
    has_code: size > 0,
    code_size_bytes: size,
    is_erc20: false,
    erc20: null,
    is_erc721: false,
    erc721: null,
    is_erc1155: false,
  };
  if (size === 0) return result;

  const call = (data: string) => withTimeout(ctx.chain.ethCall({ to: address, data }));
  const supports = (id: string) => call(SELECTORS.supportsInterface + coder.encode(['bytes4'], [id]).slice(2));
  const [name, symbol, decimals, totalSupply, erc721, erc1155, invalid] = await Promise.all([
    call(SELECTORS.name),
    call(SELECTORS.symbol),
    call(SELECTORS.decimals),
    call(SELECTORS.totalSupply),
    supports(INTERFACE_ERC721),
    supports(INTERFACE_ERC1155),
    supports(INTERFACE_INVALID),
  ]);
  const isTrue = (data: string | undefined) => decodeUint(data) === 1n;
  const erc165 = invalid !== undefined && decodeUint(invalid) === 0n;
  result.is_erc721 = erc165 && isTrue(erc721);
  result.is_erc1155 = erc165 && isTrue(erc1155);
  const textName = decodeText(name);
  const textSymbol = decodeText(symbol);
  if (result.is_erc721) result.erc721 = { name: textName, symbol: textSymbol };

  const dec = decodeUint(decimals);
  const supply = decodeUint(totalSupply);
  if (!result.is_erc721 && dec !== null && dec <= 255n && supply !== null) {
    result.is_erc20 = true;
    result.erc20 = {
      name: textName,
      symbol: textSymbol,
      decimals: Number(dec),
      total_supply: supply.toString(),
      total_supply_units: decimalString(supply, Number(dec)),
    };
  }
  return result;
}
