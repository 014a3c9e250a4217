/**
 * Plaintext private key export (`export_wallet_private_key`), off unless two settings allow it:
 * `ALLOW_PLAINTEXT_EXPORT=1` and an `EXPORT_CODE` (AgentVault's `AGENTVAULT_` names are accepted)
 * that the caller repeats as `confirmation_code`. The gates are checked before the wallet is looked
 * up, so a refused call learns nothing about the wallet, and the code is compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { CoreContext } from '../context.ts';
import type { Principal } from '../auth/api-keys.ts';
import { PolicyError } from '../errors.ts';
import { getWalletByAgent, withSigner } from './service.ts';

/** Whether `given` equals `expected`, compared over SHA-256 digests in constant time. */
function sameCode(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/**
 * Checks the export gates in order, each refusal with its own code.
 * @throws {PolicyError} `EXPORT_DISABLED` (ALLOW_PLAINTEXT_EXPORT is not 1),
 *   `EXPORT_CODE_NOT_CONFIGURED` (no EXPORT_CODE), `EXPORT_CODE_REQUIRED` (no `confirmation_code`),
 *   `EXPORT_CODE_INVALID` (it does not match). Messages never contain either code.
 */
export function checkExportGates(config: Pick<CoreContext['config'], 'allowPlaintextExport' | 'exportCode'>, confirmationCode: unknown): void {
  if (!config.allowPlaintextExport) {
    throw new PolicyError('EXPORT_DISABLED', 'plaintext key export is disabled on this server (ALLOW_PLAINTEXT_EXPORT is not 1); use export_wallet_keystore for an encrypted copy');
  }
  if (!config.exportCode) {
    throw new PolicyError('EXPORT_CODE_NOT_CONFIGURED', 'plaintext key export needs EXPORT_CODE set on the server, and none is; ask the operator');
  }
  if (confirmationCode === undefined || confirmationCode === null || confirmationCode === '') {
    throw new PolicyError('EXPORT_CODE_REQUIRED', 'plaintext key export needs confirmation_code: the server\'s EXPORT_CODE, which a human must give you');
  }
  if (typeof confirmationCode !== 'string' || !sameCode(confirmationCode, config.exportCode)) {
    throw new PolicyError('EXPORT_CODE_INVALID', 'confirmation_code does not match the server\'s EXPORT_CODE');
  }
}

/**
 * `export_wallet_private_key`: after {@link checkExportGates}, unwraps `agent_id`'s key for this
 * call and returns it as 0x-prefixed hex. The tool wrapper audits every attempt, with
 * `private_key` and `confirmation_code` redacted.
 * @throws {PolicyError} the gate codes above; `ValidationError` `INVALID_INPUT` (`agent_id`);
 *   `NotFoundError` `WALLET_NOT_FOUND`; `UpstreamError` when the key provider fails.
 */
export async function exportPrivateKey(ctx: CoreContext, principal: Principal, agentId: unknown, confirmationCode: unknown): Promise<{ agent_id: string; address: string; wallet_id: string; private_key: string }> {
  checkExportGates(ctx.config, confirmationCode);
  const row = await getWalletByAgent(ctx, principal, agentId);
  const privateKey = await withSigner(ctx, row, async (signer) => signer.privateKey);
  return { agent_id: row.agent_id, address: row.address, wallet_id: row.id, private_key: privateKey };
}
