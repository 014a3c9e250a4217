/**
 * Zod shapes shared by several tools: the AgentVault argument names with their units, and the
 * result objects. Input shapes check JSON types only; the rules (EIP-55 checksum, positive amount,
 * at most 18 decimals) are checked by core so every caller gets the same coded errors.
 */
import { z } from 'zod';

export const agentIdArg = z
  .string()
  .describe('The agent\'s wallet name, as given to spin_up_wallet (1-128 characters: letters, digits, _ . : @ -).');

export const addressArg = (what: string) =>
  z.string().describe(`${what}: a 0x-prefixed 20-byte EVM address (EIP-55 checksum if mixed case).`);

export const amountEthArg = z
  .union([z.string(), z.number()])
  .describe('Amount in ETH as a decimal string such as "0.015" (at most 18 decimals; JSON numbers are accepted for compatibility).');

export const ethAmountOut = z
  .object({
    eth: z.string().describe('Decimal ETH'),
    wei: z.string().describe('Integer wei'),
  })
  .describe('An amount, as decimal ETH and as integer wei');

export const walletOut = z.object({
  id: z.string(),
  agent_id: z.string(),
  address: z.string(),
  chain_id: z.number().int(),
  key_provider: z.string(),
  origin: z.string(),
  created_at: z.string().describe('ISO 8601'),
});

export const transactionOut = z.object({
  id: z.string(),
  wallet_id: z.string(),
  agent_id: z.string().nullable(),
  chain_id: z.number().int(),
  nonce: z.number().int(),
  from_address: z.string(),
  to_address: z.string(),
  value_wei: z.string(),
  value_eth: z.string(),
  status: z.enum(['queued', 'broadcast', 'mined', 'confirmed', 'reverted', 'failed', 'replaced', 'cancelled']),
  tx_hash: z.string(),
  block_number: z.number().int().nullable(),
  gas_limit: z.string(),
  gas_used: z.string().nullable(),
  max_fee_per_gas_gwei: z.string(),
  max_priority_fee_per_gas_gwei: z.string(),
  effective_gas_price_gwei: z.string().nullable(),
  fee_wei: z.string().nullable(),
  error: z.string().nullable(),
  source: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
