/**
 * EVM JSON-RPC access with failover. One ethers `JsonRpcProvider` per URL, configured for a
 * signer service rather than a dapp: a static network (no chainId polling), no request batching
 * and no response cache (ethers caches identical calls for 250 ms by default), a 10 s request
 * timeout. Calls go to the preferred endpoint and move down the `RPC_URLS` list when it is
 * unreachable; node errors (reverts, "nonce too low", …) are answers, not outages, and are
 * returned as they are.
 */
import { FetchRequest, JsonRpcProvider, Network, type TransactionReceipt } from 'ethers';
import { UpstreamError } from '../errors.ts';
import { scrubSignedPayloads } from '../scrub.ts';
import { rpcDuration } from '../metrics.ts';

const OUTAGE_CODES = new Set(['SERVER_ERROR', 'TIMEOUT', 'NETWORK_ERROR', 'UNKNOWN_ERROR', 'ECONNREFUSED', 'ECONNRESET']);

function isOutage(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  const code = (err as { code?: string }).code;
  if (code && OUTAGE_CODES.has(code)) {
    // ethers wraps JSON-RPC error objects from a live node as UNKNOWN_ERROR too: those are answers.
    return !(code === 'UNKNOWN_ERROR' && (err as { error?: { code?: number } }).error?.code !== undefined);
  }
  return err.name === 'TypeError' || /fetch failed|ECONNREFUSED|ECONNRESET|socket hang up|timeout/i.test(err.message);
}

function makeProvider(url: string, network?: Network): JsonRpcProvider {
  const req = new FetchRequest(url);
  req.timeout = 10_000;
  return new JsonRpcProvider(req, network, {
    staticNetwork: network ?? true,
    batchMaxCount: 1,
    cacheTimeout: -1,
  });
}

/** Chain facts returned by {@link ChainClient.status}. */
export interface ChainStatus {
  chainId: number;
  blockNumber: number;
  baseFeePerGasWei: bigint | null;
  endpoint: number;
  endpoints: number;
}

/** EIP-1559 fee suggestion in wei. */
export interface Eip1559Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  /** The latest block's base fee (what gas-aware strategies compare to their ceiling). */
  baseFeePerGas: bigint;
}

/** RPC access with ordered failover; see the module comment. */
export class ChainClient {
  readonly urls: string[];
  readonly chainId: number;
  private readonly providers: JsonRpcProvider[];
  private preferred = 0;

  private constructor(urls: string[], chainId: number) {
    this.urls = urls;
    this.chainId = chainId;
    const network = Network.from(chainId);
    this.providers = urls.map((u) => makeProvider(u, network));
  }

  /**
   * Connects to the first reachable URL and reads its chainId (`eth_chainId`).
   * @throws {UpstreamError} `RPC_UNAVAILABLE` when no URL answers.
   */
  static async connect(urls: string[]): Promise<ChainClient> {
    if (urls.length === 0) throw new UpstreamError('RPC_UNAVAILABLE', 'no RPC URL configured (RPC_URLS)');
    let lastError: unknown;
    for (const url of urls) {
      const probe = makeProvider(url);
      try {
        const hex = (await probe.send('eth_chainId', [])) as string;
        probe.destroy();
        return new ChainClient(urls, Number(BigInt(hex)));
      } catch (err) {
        probe.destroy();
        lastError = err;
      }
    }
    throw new UpstreamError('RPC_UNAVAILABLE', `no RPC endpoint answered eth_chainId (${urls.length} tried): ${scrubSignedPayloads((lastError as Error)?.message ?? 'unknown error')}`);
  }

  /**
   * Runs `fn` against the preferred endpoint, failing over in `RPC_URLS` order on outages.
   * @param method - label for metrics (`eth_getBalance`, …).
   * @throws {UpstreamError} `RPC_UNAVAILABLE` when every endpoint is down; node errors unchanged.
   */
  async call<T>(method: string, fn: (provider: JsonRpcProvider) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (let i = 0; i < this.providers.length; i++) {
      const index = (this.preferred + i) % this.providers.length;
      const provider = this.providers[index]!;
      const end = rpcDuration.startTimer({ method, endpoint: String(index) });
      try {
        const result = await fn(provider);
        end({ outcome: 'ok' });
        if (index !== this.preferred) this.preferred = index;
        return result;
      } catch (err) {
        if (!isOutage(err)) {
          end({ outcome: 'node_error' });
          throw err;
        }
        end({ outcome: 'unreachable' });
        lastError = err;
      }
    }
    throw new UpstreamError('RPC_UNAVAILABLE', `every RPC endpoint failed for ${method}: ${scrubSignedPayloads((lastError as Error)?.message ?? 'unknown error')}`);
  }

  /** Balance in wei at the latest block (`eth_getBalance`). */
  getBalance(address: string): Promise<bigint> {
    return this.call('eth_getBalance', (p) => p.getBalance(address, 'latest'));
  }

  /** Nonce: number of transactions sent from `address` (`eth_getTransactionCount`). */
  getTransactionCount(address: string, blockTag: 'latest' | 'pending' = 'pending'): Promise<number> {
    return this.call('eth_getTransactionCount', (p) => p.getTransactionCount(address, blockTag));
  }

  /**
   * EIP-1559 fees: the tip from `eth_maxPriorityFeePerGas` (1 gwei when the node lacks it, as
   * ethers does), and `maxFeePerGas` = 2 × the latest block's base fee + tip, which leaves
   * headroom for six full blocks of base-fee growth (ethers' `getFeeData` formula, without its
   * unused `eth_gasPrice` request).
   * @throws {UpstreamError} `RPC_UNAVAILABLE`, also when the chain has no EIP-1559 base fee.
   */
  async getFees(): Promise<Eip1559Fees> {
    const [block, tipHex] = await Promise.all([
      this.call('eth_getBlockByNumber', (p) => p.getBlock('latest')),
      this.call('eth_maxPriorityFeePerGas', (p) => p.send('eth_maxPriorityFeePerGas', []) as Promise<string>).catch((err: unknown) => {
        if (err instanceof UpstreamError) throw err;
        return null;
      }),
    ]);
    const baseFee = block?.baseFeePerGas ?? null;
    if (baseFee === null) {
      throw new UpstreamError('RPC_UNAVAILABLE', 'the chain reports no EIP-1559 base fee (pre-London chains are not supported)');
    }
    const maxPriorityFeePerGas = tipHex === null ? 1_000_000_000n : BigInt(tipHex);
    return { maxFeePerGas: baseFee * 2n + maxPriorityFeePerGas, maxPriorityFeePerGas, baseFeePerGas: baseFee };
  }

  /** Gas estimate for a call (`eth_estimateGas`). Node errors (reverts) are thrown as they come. */
  estimateGas(tx: { from: string; to: string; value: bigint; data?: string }): Promise<bigint> {
    return this.call('eth_estimateGas', (p) => p.estimateGas(tx));
  }

  /** Bytecode at `address` (`eth_getCode`); `0x` for an externally owned account. */
  getCode(address: string): Promise<string> {
    return this.call('eth_getCode', (p) => p.getCode(address));
  }

  /**
   * Runs a read-only call against the latest block (`eth_call`) and returns the raw return data.
   * Reverts are node answers and are thrown as ethers raises them (`CALL_EXCEPTION`).
   */
  ethCall(tx: { to: string; data: string }): Promise<string> {
    return this.call('eth_call', (p) => p.call({ to: tx.to, data: tx.data, blockTag: 'latest' }));
  }

  /** Sends a signed raw transaction (`eth_sendRawTransaction`); returns its hash. */
  async broadcast(rawTx: string): Promise<string> {
    return this.call('eth_sendRawTransaction', (p) => p.send('eth_sendRawTransaction', [rawTx]) as Promise<string>);
  }

  /** Receipt of a mined transaction, or `null` while it is pending (`eth_getTransactionReceipt`). */
  getReceipt(hash: string): Promise<TransactionReceipt | null> {
    return this.call('eth_getTransactionReceipt', (p) => p.getTransactionReceipt(hash));
  }

  /** Latest block number (`eth_blockNumber`). */
  getBlockNumber(): Promise<number> {
    return this.call('eth_blockNumber', (p) => p.getBlockNumber());
  }

  /**
   * Polls for a receipt every `intervalMs` until `timeoutMs`.
   * @returns the receipt, or `null` on timeout.
   */
  async waitForReceipt(hash: string, timeoutMs = 30_000, intervalMs = 250): Promise<TransactionReceipt | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const receipt = await this.getReceipt(hash);
      if (receipt || Date.now() >= deadline) return receipt;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /** Chain facts for `provider_status` and `/readyz`. */
  async status(): Promise<ChainStatus> {
    const block = await this.call('eth_getBlockByNumber', (p) => p.getBlock('latest'));
    if (!block) throw new UpstreamError('RPC_UNAVAILABLE', 'the node returned no latest block');
    return {
      chainId: this.chainId,
      blockNumber: block.number,
      baseFeePerGasWei: block.baseFeePerGas,
      endpoint: this.preferred,
      endpoints: this.providers.length,
    };
  }

  /** Closes every provider. */
  destroy(): void {
    for (const p of this.providers) p.destroy();
  }
}
