/**
 * Wallet toolkit tools (AgentVault names and arguments): key import from a private key, a BIP-39
 * mnemonic or a keystore v3; keystore and plaintext key export (owner keys, ALLOW_KEY_EXPORT, a
 * second owner's approval: core/wallets/export.ts); opening a keystore; mnemonic generation;
 * EIP-191 and EIP-712 signing and verification; contract inspection.
 *
 * Secrets (keys, mnemonics, keystores, passwords, codes) travel only in arguments and in
 * `structuredContent`; the text summaries never contain them, and the audit row has them redacted
 * by field name (core/audit/log.ts).
 *
 * Annotations: tools that hand out key material are not marked read-only, so clients that
 * auto-approve read-only tools still ask a human; `sign_typed_data` is destructive because a
 * typed-data signature can grant an allowance (EIP-2612 permits).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { importFromKeystore, importFromMnemonic, importFromPrivateKey } from '../../core/wallets/import.ts';
import { openKeystore } from '../../core/wallets/keystore.ts';
import { exportWalletKey, type KeyExportResult } from '../../core/wallets/export.ts';
import type { CoreContext } from '../../core/context.ts';
import { approvalOut, approvalSummary } from './approval-tools.ts';
import { generateMnemonic } from '../../core/wallets/mnemonic.ts';
import { signMessage, signTypedData, verifyMessage, verifyTypedData } from '../../core/wallets/signing.ts';
import { inspectContract } from '../../core/contracts/inspect.ts';
import type { WalletView } from '../../core/wallets/service.ts';
import { registerTool, type ToolSession } from './tool.ts';
import { addressArg, agentIdArg, walletOut } from './schemas.ts';

const keystoreArg = z
  .union([z.string(), z.record(z.string(), z.unknown())])
  .describe('A Web3 Secret Storage v3 keystore ("encrypted JSON" from geth, MetaMask, MyEtherWallet, ethers…): its JSON text, or the parsed object. scrypt or pbkdf2, aes-128-ctr.');
const typedDataArg = z
  .union([z.string(), z.record(z.string(), z.unknown())])
  .describe('EIP-712 typed data as eth_signTypedData_v4 takes it: {types, primaryType, domain, message}, as an object or JSON text. types.EIP712Domain is optional (derived from domain).');
const messageArg = z.string().describe('The message: UTF-8 text, or 0x-prefixed hex bytes when encoding is "hex" (at most 100,000 characters).');
const encodingArg = z.enum(['utf8', 'hex']).optional().describe('How to read message: "utf8" (default) or "hex" (0x-prefixed bytes).');
const signatureArg = z.string().describe('0x-prefixed 65-byte signature (r, s, v: 130 hex characters), or a 64-byte EIP-2098 compact one.');
const verificationOut = {
  valid: z.boolean().describe('true when the signature recovers to address'),
  recovered_address: z.string().describe('The address the signature recovers to (EIP-55)'),
};

function importSummary(w: WalletView, how: string): string {
  return `Imported ${how} as the wallet of ${w.agent_id}: ${w.address} (chainId ${w.chain_id}, wrapped by ${w.key_provider})`;
}

/** The one-line result of a signature check. */
function verificationSummary(out: { valid: boolean; recovered_address: string }): string {
  return out.valid ? `Valid: signed by ${out.recovered_address}` : `Not signed by that address: the signature recovers to ${out.recovered_address}`;
}

/** Registers the wallet toolkit tools on `server` for `session`. */
export function registerToolkitTools(server: McpServer, session: ToolSession): void {
  const { core, principal } = session;

  registerTool(
    server,
    session,
    {
      name: 'import_wallet_from_private_key',
      title: 'Import a private key',
      description:
        'Stores an existing private key as agent_id\'s wallet (wrapped by the key provider at once; never shown again). Refused with WALLET_EXISTS when agent_id already has a wallet or the address belongs to another agent.',
      input: {
        agent_id: agentIdArg,
        private_key: z.string().describe('The secp256k1 private key: 64 hex characters (32 bytes), with or without 0x. Secret: redacted from the audit log.'),
      },
      output: { wallet: walletOut },
      annotations: { title: 'Import a private key', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args, ctx) => {
      const wallet = await importFromPrivateKey(ctx, principal, args);
      return { result: { wallet }, summary: importSummary(wallet, 'a private key'), walletId: wallet.id };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'import_wallet_from_mnemonic',
      title: 'Import from a mnemonic',
      description:
        'Derives a key from a BIP-39 mnemonic and stores it as agent_id\'s wallet. The path is m/44\'/60\'/0\'/0/<account_index> (BIP-44, index 0 by default, as MetaMask derives accounts) or an explicit BIP-32 path; not both. Refused with WALLET_EXISTS when agent_id already has a wallet.',
      input: {
        agent_id: agentIdArg,
        mnemonic: z.string().describe('BIP-39 phrase: 12, 15, 18, 21 or 24 English words separated by spaces. Secret: redacted from the audit log.'),
        passphrase: z.string().optional().describe('Optional BIP-39 passphrase ("25th word"); empty when absent. Secret: redacted.'),
        account_index: z.number().int().optional().describe('Account number n in m/44\'/60\'/0\'/0/n, 0 to 2^31-1 (default 0). Not with path.'),
        path: z.string().optional().describe('Explicit BIP-32 derivation path such as "m/44\'/60\'/0\'/0/0" ("\'" = hardened). Not with account_index.'),
      },
      output: { wallet: walletOut, derivation_path: z.string().describe('The BIP-32 path the key was derived at') },
      annotations: { title: 'Import from a mnemonic', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args, ctx) => {
      const { wallet, derivation_path } = await importFromMnemonic(ctx, principal, args);
      return { result: { wallet, derivation_path }, summary: importSummary(wallet, `the key at ${derivation_path} of a mnemonic`), walletId: wallet.id };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'import_wallet_from_encrypted_json',
      title: 'Import a keystore',
      description:
        'Opens a Web3 Secret Storage v3 keystore with its password and stores the key as agent_id\'s wallet. Refused with WALLET_EXISTS when agent_id already has a wallet.',
      input: {
        agent_id: agentIdArg,
        encrypted_json: keystoreArg,
        password: z.string().describe('The keystore\'s password. Secret: redacted from the audit log.'),
      },
      output: { wallet: walletOut },
      annotations: { title: 'Import a keystore', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args, ctx) => {
      const wallet = await importFromKeystore(ctx, principal, args);
      return { result: { wallet }, summary: importSummary(wallet, 'a keystore'), walletId: wallet.id };
    },
  );

  const gates =
    'Key material leaves VaultPilot only when the operator set ALLOW_KEY_EXPORT=1 (else KEY_EXPORT_DISABLED), only for an owner key (else FORBIDDEN, rule role), and only after another owner key approves: the first call returns status pending_approval with an approval_id and exports nothing; once a human approved it in VaultPilot, call again with the same arguments plus approval_id to collect the export (once, before the approval expires). Every step is audited.';
  const keystoreDescription = (field: string) =>
    `Encrypts agent_id's key into a Web3 Secret Storage v3 keystore (scrypt, about a second) protected by ${field}, returned in structuredContent.keystore. ${gates} Anyone holding the keystore can try to guess the ${field} offline: choose a long one.`;
  const secretArg = z.string().describe('Protects the keystore: at least 8 characters. Secret: redacted from the audit log.');
  const approvalArg = z.string().optional().describe('The approval_id of an approved key_export approval of this key (from the first call); absent: ask for one');
  const reasonArg = z.string().optional().describe('What the export is for, shown to the approving owner (at most 500 characters)');
  const exportOut = {
    status: z.enum(['pending_approval', 'exported']).describe('pending_approval: nothing exported, another owner must approve approval_id first; exported: the material is in this result'),
    agent_id: z.string(),
    address: z.string(),
    approval_id: z.string().describe('The key_export approval this export goes through'),
    approval: approvalOut,
  };
  const keystoreOut = {
    ...exportOut,
    keystore: z.string().optional().describe('Keystore v3 JSON text (scrypt N=2^17, r=8, p=1; aes-128-ctr), when exported. Opens with the passphrase in any Ethereum wallet.'),
  };
  const keystoreAnnotations = { title: 'Export a keystore', readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };
  /** The tool result of an export call, pending or done. */
  const exportResult = (out: KeyExportResult, what: string) => {
    const { wallet_id, ...result } = out;
    const { approval } = out;
    const summary =
      out.status === 'pending_approval'
        ? `PENDING_APPROVAL: nothing was exported. ${approvalSummary(approval)}`
        : `Exported ${what} of ${out.agent_id} (${out.address}) under approval ${approval.approval_id} (approved by ${approval.decided_by ?? 'an owner'}); it is in structuredContent only.`;
    return { result, summary, walletId: wallet_id, agentId: out.agent_id };
  };
  const exportKeystoreTool = async (ctx: CoreContext, args: { agent_id: string; approval_id?: string; reason?: string }, secret: string, field: 'passphrase' | 'password') =>
    exportResult(
      await exportWalletKey(ctx, principal, { wallet: { agentId: args.agent_id }, format: 'keystore', passphrase: { value: secret, field }, approvalId: args.approval_id, reason: args.reason, source: 'mcp' }),
      `a keystore (keep it and its ${field} apart)`,
    );

  registerTool(
    server,
    session,
    {
      name: 'export_wallet_keystore',
      title: 'Export a keystore',
      description: keystoreDescription('passphrase'),
      input: { agent_id: agentIdArg, passphrase: secretArg, approval_id: approvalArg, reason: reasonArg },
      output: keystoreOut,
      annotations: keystoreAnnotations,
    },
    (args, ctx) => exportKeystoreTool(ctx, args, args.passphrase, 'passphrase'),
  );

  registerTool(
    server,
    session,
    {
      name: 'encrypt_wallet_keystore',
      title: 'Encrypt a wallet as a keystore',
      description: `${keystoreDescription('password')} Same as export_wallet_keystore (AgentVault's encrypt_wallet_json).`,
      input: { agent_id: agentIdArg, password: secretArg, approval_id: approvalArg, reason: reasonArg },
      output: keystoreOut,
      annotations: { ...keystoreAnnotations, title: 'Encrypt a wallet as a keystore' },
    },
    (args, ctx) => exportKeystoreTool(ctx, args, args.password, 'password'),
  );

  registerTool(
    server,
    session,
    {
      name: 'export_wallet_private_key',
      title: 'Export a private key',
      description: `Returns agent_id's private key in plain hex (structuredContent.private_key). ${gates} Collecting also needs confirmation_code equal to the server's EXPORT_CODE, which a human must give you (EXPORT_CODE_NOT_CONFIGURED when the server has none; wrong codes lock out after 5 in 15 minutes with CONFIRMATION_LOCKED). Prefer export_wallet_keystore.`,
      input: {
        agent_id: agentIdArg,
        confirmation_code: z.string().optional().describe('The server\'s EXPORT_CODE, given by a human; needed to collect. Secret: redacted from the audit log, never echoed.'),
        approval_id: approvalArg,
        reason: reasonArg,
      },
      output: {
        ...exportOut,
        private_key: z.string().optional().describe('0x-prefixed 32-byte private key, when exported. Whoever holds it controls the wallet.'),
      },
      annotations: { title: 'Export a private key', readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    async (args, ctx) =>
      exportResult(
        await exportWalletKey(ctx, principal, { wallet: { agentId: args.agent_id }, format: 'private_key', confirmationCode: args.confirmation_code, approvalId: args.approval_id, reason: args.reason, source: 'mcp' }),
        'the private key',
      ),
  );

  registerTool(
    server,
    session,
    {
      name: 'generate_mnemonic',
      title: 'Generate a mnemonic',
      description:
        'Generates a new random BIP-39 mnemonic (structuredContent.mnemonic). Nothing is stored: to use it as a wallet, pass it to import_wallet_from_mnemonic; to keep it, write it down somewhere safe.',
      input: {
        num_words: z.number().int().optional().describe('12, 15, 18, 21 or 24 words (128-256 bits of entropy); default 12.'),
        language: z.string().optional().describe('Word list: only "english" (default).'),
      },
      output: {
        mnemonic: z.string().describe('The phrase, words separated by single spaces. Secret: redacted from the audit log.'),
        num_words: z.number().int(),
        language: z.string(),
      },
      annotations: { title: 'Generate a mnemonic', readOnlyHint: true, idempotentHint: false, openWorldHint: false },
    },
    async (args) => {
      const out = generateMnemonic(args.num_words ?? 12, args.language ?? 'english');
      return { result: out, summary: `Generated a ${out.num_words}-word English BIP-39 mnemonic (in structuredContent.mnemonic); nothing was stored.` };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'decrypt_wallet_keystore',
      title: 'Open a keystore',
      description:
        'Checks that password opens a Web3 Secret Storage v3 keystore and returns its address. The private key is returned too only when the server sets ALLOW_KEY_EXPORT=1 (the caller already holds the keystore and its password); otherwise it stays out of the response, and to use the wallet you import it with import_wallet_from_encrypted_json. Nothing is stored.',
      input: {
        encrypted_json: keystoreArg,
        password: z.string().describe('The keystore\'s password. Secret: redacted from the audit log.'),
      },
      output: {
        address: z.string(),
        private_key_included: z.boolean().describe('true only when ALLOW_KEY_EXPORT=1'),
        private_key: z.string().optional().describe('0x-prefixed private key, only when private_key_included'),
      },
      annotations: { title: 'Open a keystore', readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args) => {
      const out = await openKeystore(core, args.encrypted_json, args.password);
      return {
        result: out,
        summary: `The password opens this keystore of ${out.address}${out.private_key_included ? '; the private key is in structuredContent.private_key' : '; the private key is withheld (ALLOW_KEY_EXPORT is off): import the keystore to use the wallet'}.`,
      };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'sign_message',
      title: 'Sign a message (EIP-191)',
      description: 'Signs message with agent_id\'s key as personal_sign does (EIP-191: "\\x19Ethereum Signed Message:\\n" + length + message) and returns the signature and the hash it signs.',
      input: { agent_id: agentIdArg, message: messageArg, encoding: encodingArg },
      output: {
        agent_id: z.string(),
        address: z.string().describe('The signer'),
        signature: z.string().describe('65-byte r‖s‖v signature, 0x hex'),
        message_hash: z.string().describe('EIP-191 hash of the message (what was signed)'),
      },
      annotations: { title: 'Sign a message (EIP-191)', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args) => {
      const out = await signMessage(core, principal, args);
      return { result: out, summary: `Signed with ${out.agent_id} (${out.address}): ${out.signature}` };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'verify_message',
      title: 'Verify a message signature',
      description: 'Recovers the EIP-191 (personal_sign) signer of message and says whether it is address.',
      input: { address: addressArg('The expected signer'), message: messageArg, signature: signatureArg, encoding: encodingArg },
      output: { ...verificationOut, message_hash: z.string().describe('EIP-191 hash of the message') },
      annotations: { title: 'Verify a message signature', readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args) => {
      const out = verifyMessage(args);
      return { result: out, summary: verificationSummary(out) };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'sign_typed_data',
      title: 'Sign typed data (EIP-712)',
      description:
        'Signs EIP-712 typed data with agent_id\'s key (as eth_signTypedData_v4). Refused when domain.chainId names another chain than this server\'s. Read the message first: a signature can authorise spending (permits, orders).',
      input: { agent_id: agentIdArg, typed_data: typedDataArg },
      output: {
        agent_id: z.string(),
        address: z.string().describe('The signer'),
        signature: z.string().describe('65-byte r‖s‖v signature, 0x hex'),
        digest: z.string().describe('The EIP-712 digest signed: keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message))'),
        primary_type: z.string(),
      },
      annotations: { title: 'Sign typed data (EIP-712)', readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args) => {
      const out = await signTypedData(core, principal, args);
      return { result: out, summary: `Signed ${out.primary_type} with ${out.agent_id} (${out.address}): ${out.signature}` };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'verify_typed_data',
      title: 'Verify a typed-data signature',
      description: 'Recovers the EIP-712 signer of typed_data and says whether it is address (any chainId).',
      input: { address: addressArg('The expected signer'), typed_data: typedDataArg, signature: signatureArg },
      output: { ...verificationOut, digest: z.string().describe('The EIP-712 digest') },
      annotations: { title: 'Verify a typed-data signature', readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args) => {
      const out = verifyTypedData(args);
      return { result: out, summary: verificationSummary(out) };
    },
  );

  registerTool(
    server,
    session,
    {
      name: 'inspect_contract',
      title: 'Inspect a contract',
      description:
        'Reports what is at address on this chain: whether it has code (an EOA has none) and its size, and, when they answer, ERC-20 name/symbol/decimals/totalSupply and ERC-165 support for ERC-721 and ERC-1155. Names and symbols are set by whoever deployed the contract: do not trust them.',
      input: { address: addressArg('The address to inspect') },
      output: {
        address: z.string(),
        chain_id: z.number().int(),
        has_code: z.boolean(),
        code_size_bytes: z.number().int(),
        is_erc20: z.boolean().describe('decimals() and totalSupply() answer'),
        erc20: z
          .object({
            name: z.string().nullable(),
            symbol: z.string().nullable(),
            decimals: z.number().int(),
            total_supply: z.string().describe('Integer, in the token\'s smallest unit'),
            total_supply_units: z.string().describe('total_supply / 10^decimals, exact decimal string'),
          })
          .nullable(),
        is_erc721: z.boolean().describe('ERC-165 supportsInterface(0x80ac58cd)'),
        erc721: z.object({ name: z.string().nullable(), symbol: z.string().nullable() }).nullable(),
        is_erc1155: z.boolean().describe('ERC-165 supportsInterface(0xd9b67a26)'),
      },
      annotations: { title: 'Inspect a contract', readOnlyHint: true, idempotentHint: true, openWorldHint: true },
    },
    async (args) => {
      const r = await inspectContract(core, args.address);
      const kind = r.is_erc20 ? `ERC-20 ${r.erc20!.symbol ?? '(no symbol)'}` : r.is_erc721 ? `ERC-721 ${r.erc721!.symbol ?? '(no symbol)'}` : r.is_erc1155 ? 'ERC-1155' : r.has_code ? 'a contract of no recognised standard' : 'an account without code (EOA)';
      return { result: r, summary: `${r.address} on chain ${r.chain_id}: ${kind}${r.has_code ? `, ${r.code_size_bytes} bytes of code` : ''}` };
    },
  );
}
