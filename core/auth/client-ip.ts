/**
 * The client's IP address behind reverse proxies. Without trusted proxies the socket's peer is the
 * client. With them, a request whose peer is a trusted proxy is attributed to the rightmost
 * `X-Forwarded-For` entry that is not itself a trusted proxy: entries to the left of it were
 * written by the client and can be forged, entries to the right by proxies we trust (the usual
 * rule, as in RFC 7239 section 7.4 and nginx's `real_ip_recursive`).
 */
import { isIP } from 'node:net';
import { ipInCidrs } from './scopes.ts';

/**
 * @param peer - the socket's remote address (`null` when unknown).
 * @param forwardedFor - the `X-Forwarded-For` header, comma-separated (`undefined` when absent).
 * @param trusted - CIDRs of trusted proxies (`TRUSTED_PROXIES`).
 * @returns the client address; the peer when it is not a trusted proxy or the header is absent
 *   or malformed.
 */
export function clientAddress(peer: string | null, forwardedFor: string | undefined, trusted: readonly string[]): string | null {
  if (peer === null || trusted.length === 0 || !forwardedFor || !ipInCidrs(peer, trusted)) return peer;
  const hops = forwardedFor.split(',').map((h) => h.trim());
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return client; // a garbled entry: trust nothing left of it
    client = hop;
    if (!ipInCidrs(hop, trusted)) return hop;
  }
  return client;
}
