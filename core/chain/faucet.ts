/**
 * Test-network faucet: pays a wallet from the account whose key is `FAUCET_PRIVATE_KEY` (on the
 * embedded dev chain, one of anvil's prefunded dev accounts). Payments are capped by
 * `FAUCET_MAX_ETH`. The faucet account is not a custodial wallet, so its sends are serialized
 * in-process and take the node's pending nonce.
 */
import { Wallet } from 'ethers';
import type { CoreContext } from '../context.ts';
import { PolicyError } from '../errors.ts';
import { ethAmount, formatEth, type EthAmount } from '../money.ts';

/** Result of one faucet payment. */
export interface FaucetPayment {
  tx_hash: string;
  from_address: string;
  to_address: string;
  amount: EthAmount;
  block_number: number | null;
}

let queue: Promise<unknown> = Promise.resolve();

/** Whether `request_faucet_funds` is offered (a faucet key is configured). */
export function faucetEnabled(ctx: CoreContext): boolean {
  return ctx.config.faucetPrivateKey !== undefined;
}

/**
 * Pays `amountWei` (default: the cap) to `to` and waits up to 30 s for the receipt.
 * @throws {PolicyError} `FAUCET_DISABLED` without a faucet key; `FAUCET_LIMIT` above the cap.
 */
export async function payFromFaucet(ctx: CoreContext, to: string, amountWei: bigint | undefined): Promise<FaucetPayment> {
  const key = ctx.config.faucetPrivateKey;
  if (!key) throw new PolicyError('FAUCET_DISABLED', 'no faucet is configured on this server (FAUCET_PRIVATE_KEY); fund the wallet by sending ETH to its address');
  const cap = ctx.config.faucetMaxWei;
  const value = amountWei ?? cap;
  if (value > cap) {
    throw new PolicyError('FAUCET_LIMIT', `amount_eth ${formatEth(value)} is above the faucet cap of ${formatEth(cap)} ETH (FAUCET_MAX_ETH)`, { max_eth: formatEth(cap) });
  }
  const signer = new Wallet(key);
  const run = async (): Promise<FaucetPayment> => {
    const [nonce, fees] = await Promise.all([ctx.chain.getTransactionCount(signer.address, 'pending'), ctx.chain.getFees()]);
    const raw = await signer.signTransaction({
      type: 2,
      chainId: ctx.chain.chainId,
      nonce,
      to,
      value,
      gasLimit: 21_000n,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    const hash = await ctx.chain.broadcast(raw);
    const receipt = await ctx.chain.waitForReceipt(hash, 30_000);
    return { tx_hash: hash, from_address: signer.address, to_address: to, amount: ethAmount(value), block_number: receipt?.blockNumber ?? null };
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}
