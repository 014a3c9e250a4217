/**
 * Key scopes: optional limits on what one API key reaches, whatever its role. A `null` scope is
 * unrestricted; a list allows exactly what it names:
 * - `tools`: MCP tool names (`execute_transfer`, …);
 * - `wallets`: agent ids; tools, REST routes and listings only see and touch these wallets;
 * - `ips`: source IP CIDRs (`10.0.0.0/8`, `2001:db8::/32`, or a bare address for one host),
 *   checked at authentication. An IPv4 client seen as an IPv4-mapped IPv6 address
 *   (`::ffff:10.1.2.3`, a dual-stack listener) matches IPv4 CIDRs, and the other way round.
 * Refusals are {@link ForbiddenError} `FORBIDDEN` whose `details.rule` is `scope.tools`,
 * `scope.wallets` or `scope.ips`.
 */
import { BlockList, isIP } from 'node:net';
import type { Principal } from './api-keys.ts';
import { ForbiddenError } from '../errors.ts';

/** A key's scopes as the principal carries them; `null` means unrestricted. */
export interface KeyScopes {
  tools: string[] | null;
  wallets: string[] | null;
  ips: string[] | null;
}

/** No limits (a key without scopes). */
export const UNRESTRICTED: KeyScopes = Object.freeze({ tools: null, wallets: null, ips: null }) as KeyScopes;

/** A parsed CIDR block. */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

const MAPPED_V4 = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/**
 * Parses `a.b.c.d/n`, `x:y::/n` or a bare address (one host: /32 or /128).
 * @returns the block, or `undefined` when the text is not a valid IPv4 or IPv6 CIDR.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number.parseInt(p, 10);
    if (prefix > max) return undefined;
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A BlockList holding `cidrs` (invalid entries, which validation never stores, are skipped). */
function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const text of cidrs) {
    const c = parseCidr(text);
    if (c) list.addSubnet(c.address, c.prefix, c.family);
  }
  return list;
}

/**
 * Whether `ip` lies in one of `cidrs`. An IPv4-mapped IPv6 address is also checked as the IPv4
 * address it carries, so a dual-stack socket's `::ffff:127.0.0.1` matches `127.0.0.0/8`.
 */
export function ipInCidrs(ip: string, cidrs: readonly string[]): boolean {
  const list = blockListOf(cidrs);
  const version = isIP(ip);
  if (version === 4) return list.check(ip, 'ipv4') || list.check(`::ffff:${ip}`, 'ipv6');
  if (version === 6) {
    const mapped = MAPPED_V4.exec(ip);
    return list.check(ip, 'ipv6') || (mapped !== null && list.check(mapped[1]!, 'ipv4'));
  }
  return false;
}

/**
 * Whether the block `inner` lies wholly inside one of `outer` (used so a scoped key can only
 * create keys with narrower scopes).
 */
export function cidrWithin(inner: string, outer: readonly string[]): boolean {
  const c = parseCidr(inner);
  if (!c) return false;
  return outer.some((o) => {
    const b = parseCidr(o);
    if (!b) return false;
    // Compare as IPv6 prefix lengths: an IPv4 block is the ::ffff:0:0/96 block plus its bits.
    const innerPrefix = c.family === 'ipv4' ? c.prefix + 96 : c.prefix;
    const outerPrefix = b.family === 'ipv4' ? b.prefix + 96 : b.prefix;
    return innerPrefix >= outerPrefix && ipInCidrs(c.address, [o]);
  });
}

/** Whether the principal's wallet scope lets it see the wallet of `agentId`. */
export function walletInScope(principal: Pick<Principal, 'scopes'>, agentId: string): boolean {
  const wallets = principal.scopes.wallets;
  return wallets === null || wallets.includes(agentId);
}

/**
 * Requires that the key may call the MCP tool `tool`.
 * @throws {ForbiddenError} `FORBIDDEN` with `details: { rule: 'scope.tools', tool }`.
 */
export function checkToolScope(principal: Pick<Principal, 'scopes'>, tool: string): void {
  const tools = principal.scopes.tools;
  if (tools !== null && !tools.includes(tool)) {
    throw new ForbiddenError(`this API key may not call ${tool}; it is limited to: ${tools.join(', ')}`, { rule: 'scope.tools', tool });
  }
}

/**
 * Requires that the key may use the wallet of `agentId`.
 * @throws {ForbiddenError} `FORBIDDEN` with `details: { rule: 'scope.wallets', agent_id }`.
 */
export function checkWalletScope(principal: Pick<Principal, 'scopes'>, agentId: string): void {
  if (!walletInScope(principal, agentId)) {
    throw new ForbiddenError(`this API key may not use the wallet of agent_id "${agentId}"; it is limited to: ${principal.scopes.wallets!.join(', ')}`, {
      rule: 'scope.wallets',
      agent_id: agentId,
    });
  }
}

/**
 * Requires that a request from `ip` may use the key. An unknown source address fails a key with
 * an IP scope (it cannot be shown to be inside).
 * @throws {ForbiddenError} `FORBIDDEN` with `details: { rule: 'scope.ips', ip }`.
 */
export function checkIpScope(principal: Pick<Principal, 'scopes'>, ip: string | null): void {
  const ips = principal.scopes.ips;
  if (ips === null) return;
  if (ip === null || !ipInCidrs(ip, ips)) {
    throw new ForbiddenError(`this API key may not be used from ${ip ?? 'an unknown address'}; it is limited to: ${ips.join(', ')}`, { rule: 'scope.ips', ip });
  }
}
