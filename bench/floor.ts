/**
 * The chain floors: what the same work costs with plain ethers and nothing else. A provider set up
 * like VaultPilot's own (static network, no batching, no response cache), and senders that keep
 * their nonce in memory and sign EIP-1559 transfers locally, then `broadcastTransaction`.
 */
import { randomBytes } from 'node:crypto';
import { JsonRpcProvider, Network, Wallet, getAddress, hexlify, type FeeData } from 'ethers';
import { floorRequest } from './rpc-count.ts';

/** EIP-1559 fees used for every floor send (read once before the loop). */
export interface FloorFees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

/** A sending account with its next nonce kept in memory. */
export interface FloorSender {
  wallet: Wallet;
  nonce: number;
}

/** A JSON-RPC provider configured like VaultPilot's ChainClient (no cache, no batching); its requests count as `floor`. */
export function floorProvider(url: string, chainId: number): JsonRpcProvider {
  return new JsonRpcProvider(floorRequest(url), Network.from(chainId), { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
}

/** A fresh random address (no key behind it); cheap, unlike `Wallet.createRandom()`. */
export function randomAddress(): string {
  return getAddress(hexlify(randomBytes(20)));
}

/** Reads EIP-1559 fees once. @throws when the chain has no base fee. */
export async function readFees(provider: JsonRpcProvider): Promise<FloorFees> {
  const fee: FeeData = await provider.getFeeData();
  if (fee.maxFeePerGas === null || fee.maxPriorityFeePerGas === null) throw new Error('the chain reports no EIP-1559 fees');
  return { maxFeePerGas: fee.maxFeePerGas, maxPriorityFeePerGas: fee.maxPriorityFeePerGas };
}

/** A sender for `privateKey`, starting at the chain's pending nonce. */
export async function floorSender(privateKey: string, provider: JsonRpcProvider): Promise<FloorSender> {
  const wallet = new Wallet(privateKey, provider);
  return { wallet, nonce: await provider.getTransactionCount(wallet.address, 'pending') };
}

/**
 * Signs a plain transfer with the sender's next nonce (taken synchronously, so concurrent calls
 * never collide) and broadcasts it; resolves when the node accepted it.
 * @returns the transaction hash.
 */
export async function signAndSend(sender: FloorSender, chainId: number, to: string, value: bigint, fees: FloorFees): Promise<string> {
  const nonce = sender.nonce++;
  const raw = await sender.wallet.signTransaction({
    type: 2,
    chainId,
    nonce,
    to,
    value,
    gasLimit: 21_000n,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
  });
  const provider = sender.wallet.provider as JsonRpcProvider;
  const tx = await provider.broadcastTransaction(raw);
  return tx.hash;
}

/**
 * Funds each address with `value` from `funder` and waits until every payment is mined.
 * @param timeoutMs - per receipt.
 */
export async function fundAddresses(funder: FloorSender, chainId: number, addresses: readonly string[], value: bigint, fees: FloorFees, timeoutMs = 30_000): Promise<void> {
  const provider = funder.wallet.provider as JsonRpcProvider;
  const hashes: string[] = [];
  for (const to of addresses) hashes.push(await signAndSend(funder, chainId, to, value, fees));
  for (const hash of hashes) {
    const receipt = await provider.waitForTransaction(hash, 1, timeoutMs);
    if (receipt?.status !== 1) throw new Error(`funding transaction ${hash} was not mined`);
  }
}
