/**
 * Counts JSON-RPC requests on the wire, by who sent them and by method. ethers sends every HTTP
 * request through a `getUrl` function: the process-wide one (which VaultPilot's ChainClient uses)
 * is wrapped to count as `vaultpilot`, and the floor's providers get their own that counts as
 * `floor`. Reading a request body and parsing its JSON is the only added work.
 */
import { FetchRequest, toUtf8String, type FetchGetUrlFunc } from 'ethers';

/** Who sent a request. */
export type RpcSource = 'vaultpilot' | 'floor';

const counts = new Map<string, number>();
const base: FetchGetUrlFunc = FetchRequest.createGetUrlFunc();

function counting(source: RpcSource): FetchGetUrlFunc {
  return (req, signal) => {
    const body = req.body;
    if (body) {
      try {
        const parsed = JSON.parse(toUtf8String(body)) as { method?: string } | Array<{ method?: string }>;
        for (const msg of Array.isArray(parsed) ? parsed : [parsed]) {
          const key = `${source}:${msg.method ?? '?'}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
      } catch {
        // not JSON-RPC: not counted
      }
    }
    return base(req, signal);
  };
}

/** Makes every ethers request in this process that has no `getUrl` of its own count as `vaultpilot`. */
export function installRpcCounter(): void {
  FetchRequest.registerGetUrl(counting('vaultpilot'));
}

/** A request for `url` whose traffic counts as `floor`. */
export function floorRequest(url: string): FetchRequest {
  const req = new FetchRequest(url);
  req.getUrlFunc = counting('floor');
  return req;
}

/** A copy of the counters (`<source>:<method>` → requests). */
export function rpcCounts(): Map<string, number> {
  return new Map(counts);
}

/**
 * Requests per call between two copies of the counters, for one source.
 * @param calls - calls made in between.
 * @param exclude - methods to leave out (VaultPilot's worker polls receipts and block numbers in the background).
 */
export function rpcPerCall(before: Map<string, number>, after: Map<string, number>, source: RpcSource, calls: number, exclude: readonly string[] = []): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of after) {
    const [src, method] = key.split(':') as [string, string];
    if (src !== source || exclude.includes(method)) continue;
    const d = value - (before.get(key) ?? 0);
    if (d > 0) out[method] = d / calls;
  }
  return out;
}
