/**
 * The wallet toolkit end to end, on real parts (server, worker, Postgres, anvil, the MCP SDK's own
 * client over both transports): imports from a private key, a BIP-39 mnemonic (BIP-44 vectors)
 * and a keystore v3 (the Web3 Secret Storage definition's own test vector); key export refused
 * while ALLOW_KEY_EXPORT is off (test/key-export.test.ts covers it on); EIP-191 and EIP-712
 * signatures checked with ethers; contract inspection on a hand-assembled ERC-20; the REST import
 * and keystore routes. Every secret used
 * here is then searched for in the audit log as text.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { HDNodeWallet, Wallet, parseEther, verifyMessage, verifyTypedData } from 'ethers';
import { sql } from 'kysely';
import { callError, callOk, chainProvider, connectMcp, countRows, freshAddress, startStack, textOf, type Stack } from './harness.ts';

const TOOLKIT_TOOLS = [
  'import_wallet_from_private_key',
  'import_wallet_from_mnemonic',
  'import_wallet_from_encrypted_json',
  'export_wallet_keystore',
  'export_wallet_private_key',
  'generate_mnemonic',
  'encrypt_wallet_keystore',
  'decrypt_wallet_keystore',
  'sign_message',
  'verify_message',
  'sign_typed_data',
  'verify_typed_data',
  'inspect_contract',
];

/** Anvil's (and Hardhat's) dev mnemonic and its first accounts (BIP-44 m/44'/60'/0'/0/i). */
const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
const DEV_ACCOUNT_0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const DEV_ACCOUNT_1 = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
/** BIP-39's all-zero-entropy phrase; its m/44'/60'/0'/0/0 account is a widely published vector. */
const ABANDON_MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const ABANDON_ACCOUNT_0 = '0x9858EfFD232B4033E47d90003D41EC34EcaEda94';

/** Web3 Secret Storage Definition, test vector "PBKDF2-SHA-256" (password "testpassword"). */
const SPEC_PBKDF2_KEYSTORE = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: { c: 262144, dklen: 32, prf: 'hmac-sha256', salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd' },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
};
/** The same definition's "Scrypt" vector: n=2^18 with r=1 breaks RFC 7914's n < 2^(16·r), which the scrypt we use enforces. */
const SPEC_SCRYPT_KEYSTORE = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
    ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
    kdf: 'scrypt',
    kdfparams: { dklen: 32, n: 262144, p: 8, r: 1, salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19' },
    mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
};
const SPEC_PASSWORD = 'testpassword';
const SPEC_KEY = '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d';
const SPEC_ADDRESS = '0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b';


interface WalletOut {
  id: string;
  agent_id: string;
  address: string;
  origin: string;
}

/** Every secret the tests hand over or receive; none may appear in the audit log. */
const secrets = new Set<string>([DEV_MNEMONIC, ABANDON_MNEMONIC, SPEC_PASSWORD, SPEC_KEY.slice(2)]);
function secret<T extends string>(s: T): T {
  secrets.add(s.startsWith('0x') ? s.slice(2) : s);
  return s;
}
function randomKey(): string {
  return secret(Wallet.createRandom().privateKey);
}

/** The whole audit log of a stack as text (every column of every row). */
async function auditText(stack: Stack): Promise<string> {
  const r = await sql<{ t: string | null }>`select string_agg(a::text, E'\n') as t from audit_events a`.execute(stack.server.ctx.db);
  return (r.rows[0]!.t ?? '').toLowerCase();
}

async function assertNoSecrets(stack: Stack): Promise<void> {
  const text = await auditText(stack);
  assert.ok(text.length > 0);
  for (const s of secrets) assert.ok(!text.includes(s.toLowerCase()), `a secret (${s.length} characters, starting "${s.slice(0, 4)}") reached the audit log`);
}

function permit(chainId: number, owner: string) {
  return {
    types: {
      EIP712Domain: [
        { name: 'name', type: 'string' },
        { name: 'version', type: 'string' },
        { name: 'chainId', type: 'uint256' },
        { name: 'verifyingContract', type: 'address' },
      ],
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Permit',
    domain: { name: 'Test Token', version: '1', chainId, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' },
    message: { owner, spender: '0x1111111111111111111111111111111111111111', value: '1000000000000000000', nonce: 0, deadline: 1893456000 },
  };
}

// ---------------------------------------------------------------------------------------------
// A tiny EVM assembler, so the ERC-20 below is readable source rather than an opaque blob.
// Items: an opcode name; "label:" (a JUMPDEST); "@label" (PUSH2 of its offset); a bigint (PUSHn).

const OPCODES: Record<string, number> = { EQ: 0x14, SHR: 0x1c, CALLDATALOAD: 0x35, MSTORE: 0x52, JUMPI: 0x57, DUP1: 0x80, RETURN: 0xf3, REVERT: 0xfd };

function pushBytes(v: bigint): number[] {
  const hex = v.toString(16);
  return [...Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex')];
}

function assemble(program: Array<string | bigint>): string {
  const size = (item: string | bigint) => (typeof item === 'bigint' ? 1 + pushBytes(item).length : item.startsWith('@') ? 3 : 1);
  const labels = new Map<string, number>();
  let pc = 0;
  for (const item of program) {
    if (typeof item === 'string' && item.endsWith(':')) labels.set(item.slice(0, -1), pc);
    pc += size(item);
  }
  const out: number[] = [];
  for (const item of program) {
    if (typeof item === 'bigint') {
      const bytes = pushBytes(item);
      out.push(0x5f + bytes.length, ...bytes);
    } else if (item.startsWith('@')) {
      const to = labels.get(item.slice(1));
      assert.ok(to !== undefined, `label ${item}`);
      out.push(0x61, to >> 8, to & 0xff);
    } else if (item.endsWith(':')) {
      out.push(0x5b);
    } else {
      assert.ok(OPCODES[item] !== undefined, `opcode ${item}`);
      out.push(OPCODES[item]!);
    }
  }
  return Buffer.from(out).toString('hex');
}

/** Returns the ABI encoding of a string of at most 32 bytes: offset, length, data. */
function returnString(s: string): Array<string | bigint> {
  const data = Buffer.from(s, 'utf8');
  assert.ok(data.length <= 32);
  return [0x20n, 0n, 'MSTORE', BigInt(data.length), 0x20n, 'MSTORE', BigInt(`0x${data.toString('hex').padEnd(64, '0')}`), 0x40n, 'MSTORE', 0x60n, 0n, 'RETURN'];
}

const TOKEN_SUPPLY = 1_000_000n * 10n ** 18n;
/** Runtime of a read-only "ERC-20": name() "Test Token", symbol() "TT", decimals() 18, totalSupply() 1e24; anything else reverts. */
const TOKEN_RUNTIME = assemble([
  0n, 'CALLDATALOAD', 0xe0n, 'SHR',
  'DUP1', 0x06fdde03n, 'EQ', '@name', 'JUMPI',
  'DUP1', 0x95d89b41n, 'EQ', '@symbol', 'JUMPI',
  'DUP1', 0x313ce567n, 'EQ', '@decimals', 'JUMPI',
  'DUP1', 0x18160dddn, 'EQ', '@supply', 'JUMPI',
  0n, 0n, 'REVERT',
  'name:', ...returnString('Test Token'),
  'symbol:', ...returnString('TT'),
  'decimals:', 18n, 0n, 'MSTORE', 0x20n, 0n, 'RETURN',
  'supply:', TOKEN_SUPPLY, 0n, 'MSTORE', 0x20n, 0n, 'RETURN',
]);

/** Init code: CODECOPY the runtime (which follows these 15 bytes) to memory 0 and RETURN it. */
function initCode(runtimeHex: string): string {
  const len = (runtimeHex.length / 2).toString(16).padStart(4, '0');
  return `0x61${len}61000f600039${`61${len}`}6000f3${runtimeHex}`;
}

/** Deploys `runtimeHex` from a fresh account funded with anvil_setBalance (no shared dev key). */
async function deploy(runtimeHex: string): Promise<string> {
  const provider = chainProvider();
  try {
    const deployer = Wallet.createRandom().connect(provider);
    await provider.send('anvil_setBalance', [deployer.address, '0x56bc75e2d63100000']);
    const tx = await deployer.sendTransaction({ data: initCode(runtimeHex) });
    const receipt = await tx.wait(1, 20_000);
    assert.equal(receipt?.status, 1);
    assert.equal(await provider.getCode(receipt!.contractAddress!), `0x${runtimeHex}`);
    return receipt!.contractAddress!;
  } finally {
    provider.destroy();
  }
}

// ---------------------------------------------------------------------------------------------

describe('wallet toolkit', () => {
  let stack: Stack;
  const clients: Partial<Record<'streamable' | 'sse', Client>> = {};
  let chainId: number;
  before(async () => {
    stack = await startStack();
    clients.streamable = await connectMcp(stack.url, stack.adminKey, 'streamable');
    clients.sse = await connectMcp(stack.url, stack.adminKey, 'sse');
    chainId = stack.server.ctx.chain.chainId;
  });
  after(async () => {
    try {
      if (stack) await assertNoSecrets(stack);
    } finally {
      await clients.streamable?.close();
      await clients.sse?.close();
      await stack?.close();
    }
  });

  test('the toolkit tools are listed with annotations and output schemas', async () => {
    const { tools } = await clients.streamable!.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of TOOLKIT_TOOLS) {
      const tool = byName.get(name);
      assert.ok(tool, `${name} is listed`);
      assert.equal(typeof tool.annotations?.readOnlyHint, 'boolean', `${name} readOnlyHint`);
      assert.equal(typeof tool.annotations?.openWorldHint, 'boolean', `${name} openWorldHint`);
      assert.ok(tool.outputSchema?.type === 'object', `${name} outputSchema`);
      for (const [arg, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
        assert.ok((schema as { description?: string }).description, `${name}.${arg} is described`);
      }
    }
    assert.equal(byName.get('inspect_contract')!.annotations!.openWorldHint, true);
    assert.equal(byName.get('verify_typed_data')!.annotations!.readOnlyHint, true);
    assert.equal(byName.get('sign_typed_data')!.annotations!.destructiveHint, true);
    assert.equal(byName.get('export_wallet_private_key')!.annotations!.readOnlyHint, false);
  });

  for (const transport of ['streamable', 'sse'] as const) {
    test(`over ${transport}: import a private key, sign EIP-191 and EIP-712, verify`, async () => {
      const client = clients[transport]!;
      const key = randomKey();
      const expected = new Wallet(key).address;
      const agent = `pk-${transport}`;
      const imported = await callOk<{ wallet: WalletOut }>(client, 'import_wallet_from_private_key', { agent_id: agent, private_key: key.slice(2) });
      assert.equal(imported.wallet.address, expected);
      assert.equal(imported.wallet.origin, 'private_key');
      const again = await callError(client, 'import_wallet_from_private_key', { agent_id: agent, private_key: randomKey() });
      assert.equal(again.code, 'WALLET_EXISTS');
      const taken = await callError(client, 'import_wallet_from_private_key', { agent_id: `${agent}-2`, private_key: key });
      assert.equal(taken.code, 'WALLET_EXISTS');

      const message = `hello from ${transport} ✓`;
      const signed = await callOk<{ signature: string; message_hash: string; address: string }>(client, 'sign_message', { agent_id: agent, message });
      assert.equal(signed.address, expected);
      assert.equal(verifyMessage(message, signed.signature), expected);
      assert.deepEqual(await callOk(client, 'verify_message', { address: expected, message, signature: signed.signature }), { valid: true, recovered_address: expected, message_hash: signed.message_hash });
      const other = await callOk<{ valid: boolean }>(client, 'verify_message', { address: freshAddress(), message, signature: signed.signature });
      assert.equal(other.valid, false);
      const tampered = await callOk<{ valid: boolean }>(client, 'verify_message', { address: expected, message: `${message}!`, signature: signed.signature });
      assert.equal(tampered.valid, false);

      const bytes = await callOk<{ signature: string }>(client, 'sign_message', { agent_id: agent, message: '0xdeadbeef', encoding: 'hex' });
      assert.equal(verifyMessage(new Uint8Array([0xde, 0xad, 0xbe, 0xef]), bytes.signature), expected);

      const data = permit(chainId, expected);
      const typed = await callOk<{ signature: string; digest: string; primary_type: string }>(client, 'sign_typed_data', { agent_id: agent, typed_data: data });
      assert.equal(typed.primary_type, 'Permit');
      const { EIP712Domain: _domainType, ...types } = data.types;
      assert.equal(verifyTypedData(data.domain, types, data.message, typed.signature), expected);
      const agreed = await callOk<{ valid: boolean; recovered_address: string; digest: string }>(client, 'verify_typed_data', { address: expected, typed_data: JSON.stringify(data), signature: typed.signature });
      assert.deepEqual(agreed, { valid: true, recovered_address: expected, digest: typed.digest });
      const changed = await callOk<{ valid: boolean }>(client, 'verify_typed_data', { address: expected, typed_data: { ...data, message: { ...data.message, value: '2' } }, signature: typed.signature });
      assert.equal(changed.valid, false);

      const audit = await stack.server.ctx.db.selectFrom('audit_events').select(['request', 'status']).where('action', '=', 'sign_typed_data').where('agent_id', '=', agent).execute();
      assert.equal(audit.length, 1);
      const req = audit[0]!.request as { typed_data: ReturnType<typeof permit> };
      assert.equal(req.typed_data.primaryType, 'Permit');
      assert.deepEqual(req.typed_data.message, data.message, 'the typed data signed is in the audit row');
    });
  }

  test('EIP-712 refusals: another chain, malformed data, malformed signatures; nothing signed', async () => {
    const client = clients.streamable!;
    const agent = 'typed-refusals';
    const key = randomKey();
    await callOk(client, 'import_wallet_from_private_key', { agent_id: agent, private_key: key });
    const owner = new Wallet(key).address;
    const other = await callError(client, 'sign_typed_data', { agent_id: agent, typed_data: permit(1, owner) });
    assert.equal(other.code, 'INVALID_INPUT');
    assert.match(other.message, /^typed_data\.domain\.chainId: .*another chain/);
    const hexChain = await callError(client, 'sign_typed_data', { agent_id: agent, typed_data: { ...permit(chainId, owner), domain: { ...permit(chainId, owner).domain, chainId: '0x1' } } });
    assert.match(hexChain.message, /^typed_data\.domain\.chainId/);
    const cases: Array<[unknown, RegExp]> = [
      ['{not json', /^typed_data: is not valid JSON/],
      [{ ...permit(chainId, owner), primaryType: 'Nope' }, /^typed_data\.primaryType/],
      [{ types: permit(chainId, owner).types, domain: {}, primaryType: 'Permit' }, /^typed_data\.message: is required/],
      [{ ...permit(chainId, owner), message: { ...permit(chainId, owner).message, value: 'lots' } }, /^typed_data\.message/],
      [{ ...permit(chainId, owner), domain: { ...permit(chainId, owner).domain, colour: 'red' } }, /^typed_data\.domain: "colour"/],
      [{ ...permit(chainId, owner), domain: { name: 'Test Token', chainId } }, /^typed_data\.types\.EIP712Domain/],
    ];
    for (const [typed_data, message] of cases) {
      const err = await callError(client, 'sign_typed_data', { agent_id: agent, typed_data });
      assert.equal(err.code, 'INVALID_INPUT', err.text);
      assert.match(err.message, message);
    }
    for (const signature of ['0x1234', 'hello', `0x${'00'.repeat(65)}`]) {
      const err = await callError(client, 'verify_message', { address: owner, message: 'm', signature });
      assert.equal(err.code, 'INVALID_INPUT', err.text);
      assert.match(err.message, /^signature: /);
    }
    const badAddress = await callError(client, 'verify_message', { address: '0x12', message: 'm', signature: `0x${'11'.repeat(65)}` });
    assert.equal(badAddress.code, 'INVALID_ADDRESS');
    const audit = await stack.server.ctx.db.selectFrom('audit_events').select('status').where('action', '=', 'sign_typed_data').where('agent_id', '=', agent).execute();
    assert.ok(audit.length >= 8 && audit.every((a) => a.status === 'refused'));
  });

  test('BIP-39/BIP-44 vectors: anvil accounts #0 and #1, the "abandon … about" account, bad phrases refused', async () => {
    const client = clients.streamable!;
    const a0 = await callOk<{ wallet: WalletOut; derivation_path: string }>(client, 'import_wallet_from_mnemonic', { agent_id: 'hd-0', mnemonic: DEV_MNEMONIC });
    assert.equal(a0.wallet.address, DEV_ACCOUNT_0);
    assert.equal(a0.derivation_path, "m/44'/60'/0'/0/0");
    assert.equal(a0.wallet.origin, 'mnemonic');
    const a1 = await callOk<{ wallet: WalletOut; derivation_path: string }>(client, 'import_wallet_from_mnemonic', { agent_id: 'hd-1', mnemonic: `  ${DEV_MNEMONIC.toUpperCase()}\n`, account_index: 1 });
    assert.equal(a1.wallet.address, DEV_ACCOUNT_1);
    assert.equal(a1.derivation_path, "m/44'/60'/0'/0/1");
    const ab = await callOk<{ wallet: WalletOut }>(clients.sse!, 'import_wallet_from_mnemonic', { agent_id: 'abandon', mnemonic: ABANDON_MNEMONIC, path: "m/44'/60'/0'/0/0" });
    assert.equal(ab.wallet.address, ABANDON_ACCOUNT_0);
    // The imported account signs: the signature recovers to anvil's well-known account #1.
    const sig = await callOk<{ signature: string }>(client, 'sign_message', { agent_id: 'hd-1', message: 'bip44' });
    assert.equal(verifyMessage('bip44', sig.signature), DEV_ACCOUNT_1);

    const wallets = await countRows(stack, 'wallets');
    const badChecksum = DEV_MNEMONIC.replace(/junk$/, 'test');
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ mnemonic: badChecksum }, /^mnemonic: fails the BIP-39 checksum/],
      [{ mnemonic: 'test test test' }, /^mnemonic: has 3 words/],
      [{ mnemonic: DEV_MNEMONIC.replace(/^test/, 'tset') }, /^mnemonic: word 1 is not in the BIP-39 English word list/],
      [{ mnemonic: DEV_MNEMONIC, account_index: 1, path: "m/44'/60'/0'/0/1" }, /^path: give either path or account_index/],
      [{ mnemonic: DEV_MNEMONIC, path: "m/44'/60'/0'/0/x" }, /^path: must be a BIP-32 path/],
      [{ mnemonic: DEV_MNEMONIC, path: "44'/60'" }, /^path: must be a BIP-32 path/],
      [{ mnemonic: DEV_MNEMONIC, account_index: -1 }, /^account_index: must be an integer/],
      [{ mnemonic: DEV_MNEMONIC, path: "m/44'/60'/0'/0/2147483648" }, /^path: /],
    ];
    for (const [args, message] of cases) {
      const err = await callError(client, 'import_wallet_from_mnemonic', { agent_id: 'hd-bad', ...args });
      assert.equal(err.code, 'INVALID_INPUT', err.text);
      assert.match(err.message, message);
      assert.ok(!err.text.includes('junk') && !err.text.includes('tset'), 'no word of the phrase is echoed');
    }
    const dup = await callError(client, 'import_wallet_from_mnemonic', { agent_id: 'hd-0-again', mnemonic: DEV_MNEMONIC });
    assert.equal(dup.code, 'WALLET_EXISTS');
    assert.equal(await countRows(stack, 'wallets'), wallets, 'nothing written');
  });

  test('generate_mnemonic: valid BIP-39 phrases of each length, importable; other languages refused', async () => {
    const client = clients.streamable!;
    const raw = (await client.callTool({ name: 'generate_mnemonic', arguments: {} })) as CallToolResult;
    const first = raw.structuredContent as { mnemonic: string; num_words: number; language: string };
    secret(first.mnemonic);
    assert.equal(first.num_words, 12);
    assert.equal(first.mnemonic.split(' ').length, 12);
    assert.ok(!textOf(raw).includes(first.mnemonic), 'the summary does not carry the phrase');
    for (const n of [15, 18, 21, 24]) {
      const r = await callOk<{ mnemonic: string; num_words: number }>(client, 'generate_mnemonic', { num_words: n, language: 'english' });
      secret(r.mnemonic);
      assert.equal(r.mnemonic.split(' ').length, n);
    }
    const imported = await callOk<{ wallet: WalletOut }>(client, 'import_wallet_from_mnemonic', { agent_id: 'generated-phrase', mnemonic: first.mnemonic });
    assert.equal(imported.wallet.address, Wallet.fromPhrase(first.mnemonic).address);
    assert.match((await callError(client, 'generate_mnemonic', { num_words: 13 })).message, /^num_words: must be 12, 15, 18, 21 or 24/);
    assert.match((await callError(client, 'generate_mnemonic', { language: 'japanese' })).message, /^language: only "english" is supported/);
    const audit = await stack.server.ctx.db.selectFrom('audit_events').select('response').where('action', '=', 'generate_mnemonic').where('status', '=', 'ok').execute();
    assert.ok(audit.length >= 5 && audit.every((a) => (a.response as { mnemonic: string }).mnemonic === '[redacted]'));
  });

  test('keystore v3: the Web3 Secret Storage test vector imports; round trip through export; wrong password refused', async () => {
    const client = clients.streamable!;
    const wallets = await countRows(stack, 'wallets');
    const wrong = await callError(client, 'import_wallet_from_encrypted_json', { agent_id: 'spec', encrypted_json: SPEC_PBKDF2_KEYSTORE, password: 'not-the-password' });
    assert.equal(wrong.code, 'INVALID_INPUT');
    assert.match(wrong.message, /^password: does not decrypt this keystore/);
    const malformed = await callError(client, 'import_wallet_from_encrypted_json', { agent_id: 'spec', encrypted_json: '{"version": 3, "crypto": ', password: SPEC_PASSWORD });
    assert.match(malformed.message, /^encrypted_json: is not valid JSON/);
    const v1 = await callError(client, 'import_wallet_from_encrypted_json', { agent_id: 'spec', encrypted_json: { ...SPEC_PBKDF2_KEYSTORE, version: 1 }, password: SPEC_PASSWORD });
    assert.match(v1.message, /^encrypted_json: must be a Web3 Secret Storage keystore with "version": 3/);
    const costly = await callError(client, 'import_wallet_from_encrypted_json', { agent_id: 'spec', encrypted_json: { ...SPEC_PBKDF2_KEYSTORE, crypto: { ...SPEC_PBKDF2_KEYSTORE.crypto, kdfparams: { ...SPEC_PBKDF2_KEYSTORE.crypto.kdfparams, c: 50_000_000 } } }, password: SPEC_PASSWORD });
    assert.match(costly.message, /^encrypted_json: pbkdf2 with 50000000 iterations is too expensive/);
    const scryptVector = await callError(client, 'import_wallet_from_encrypted_json', { agent_id: 'spec', encrypted_json: SPEC_SCRYPT_KEYSTORE, password: SPEC_PASSWORD });
    assert.match(scryptVector.message, /^encrypted_json: scrypt n=262144 must be below 2\^\(16·r\)/);
    assert.equal(await countRows(stack, 'wallets'), wallets, 'nothing written');

    const spec = await callOk<{ wallet: WalletOut }>(client, 'import_wallet_from_encrypted_json', { agent_id: 'spec', encrypted_json: JSON.stringify(SPEC_PBKDF2_KEYSTORE), password: SPEC_PASSWORD });
    assert.equal(spec.wallet.address, SPEC_ADDRESS);
    assert.equal(spec.wallet.origin, 'keystore');

    // Key export is off unless ALLOW_KEY_EXPORT=1 (test/key-export.test.ts turns it on).
    for (const [name, field] of [['export_wallet_keystore', 'passphrase'], ['encrypt_wallet_keystore', 'password']] as const) {
      const off = await callError(client, name, { agent_id: 'spec', [field]: secret(`a long ${field} for ${name}`) });
      assert.equal(off.code, 'KEY_EXPORT_DISABLED', name);
    }

    const password = secret('another keystore password');
    const encrypted = await new Wallet(SPEC_KEY).encrypt(password);
    secrets.add((JSON.parse(encrypted) as { Crypto: { ciphertext: string } }).Crypto.ciphertext);
    const opened = await callOk<{ address: string; private_key_included: boolean; private_key?: string }>(clients.sse!, 'decrypt_wallet_keystore', { encrypted_json: encrypted, password });
    assert.deepEqual(opened, { address: SPEC_ADDRESS, private_key_included: false }, 'the key stays out of the response without ALLOW_KEY_EXPORT');
    const notOpened = await callError(client, 'decrypt_wallet_keystore', { encrypted_json: encrypted, password: 'wrong password' });
    assert.match(notOpened.message, /^password: does not decrypt this keystore/);

    const audit = await stack.server.ctx.db.selectFrom('audit_events').select(['request', 'error_code']).where('action', '=', 'export_wallet_keystore').execute();
    assert.equal(audit[0]!.error_code, 'KEY_EXPORT_DISABLED');
    assert.equal((audit[0]!.request as { passphrase: string }).passphrase, '[redacted]');
  });

  test('an imported wallet funds itself from the faucet and sends a transfer that is mined', async () => {
    const client = clients.sse!;
    const key = randomKey();
    const address = new Wallet(key).address;
    await callOk(client, 'import_wallet_from_private_key', { agent_id: 'imported-sender', private_key: key });
    await callOk(client, 'request_faucet_funds', { agent_id: 'imported-sender', amount_eth: '1' });
    const to = freshAddress();
    const sent = await callOk<{ transaction: { tx_hash: string; from_address: string } }>(client, 'execute_transfer', { agent_id: 'imported-sender', to_address: to, amount_eth: '0.01' });
    assert.equal(sent.transaction.from_address, address);
    const provider = chainProvider();
    const receipt = await provider.waitForTransaction(sent.transaction.tx_hash, 1, 20_000);
    assert.equal(receipt?.status, 1);
    assert.equal(receipt?.from, address);
    assert.equal(await provider.getBalance(to), parseEther('0.01'));
    provider.destroy();
  });

  test('plaintext export is off by default: KEY_EXPORT_DISABLED, audited', async () => {
    const client = clients.streamable!;
    const before = await countRows(stack, 'audit_events', `action = 'export_wallet_private_key'`);
    const err = await callError(client, 'export_wallet_private_key', { agent_id: 'spec', confirmation_code: 'not-the-export-code' });
    assert.equal(err.code, 'KEY_EXPORT_DISABLED');
    assert.equal(await countRows(stack, 'audit_events', `action = 'export_wallet_private_key' and error_code = 'KEY_EXPORT_DISABLED'`), before + 1);
  });

  test('inspect_contract: an EOA, a hand-assembled ERC-20, a contract that answers nothing', async () => {
    const client = clients.streamable!;
    const eoa = await callOk<{ has_code: boolean; code_size_bytes: number; is_erc20: boolean; erc20: unknown }>(client, 'inspect_contract', { address: DEV_ACCOUNT_0 });
    assert.equal(eoa.has_code, false);
    assert.equal(eoa.code_size_bytes, 0);
    assert.equal(eoa.is_erc20, false);
    assert.equal(eoa.erc20, null);

    const token = await deploy(TOKEN_RUNTIME);
    const info = await callOk<{ has_code: boolean; code_size_bytes: number; is_erc20: boolean; is_erc721: boolean; is_erc1155: boolean; erc20: Record<string, unknown> }>(client, 'inspect_contract', { address: token });
    assert.equal(info.has_code, true);
    assert.equal(info.code_size_bytes, TOKEN_RUNTIME.length / 2);
    assert.equal(info.is_erc20, true);
    assert.deepEqual(info.erc20, { name: 'Test Token', symbol: 'TT', decimals: 18, total_supply: TOKEN_SUPPLY.toString(), total_supply_units: '1000000' });
    assert.equal(info.is_erc721, false);
    assert.equal(info.is_erc1155, false);

    const reverter = await deploy('60006000fd'); // PUSH1 0 PUSH1 0 REVERT: every call reverts
    const bare = await callOk<{ has_code: boolean; is_erc20: boolean; erc20: unknown; is_erc721: boolean }>(client, 'inspect_contract', { address: reverter });
    assert.equal(bare.has_code, true);
    assert.equal(bare.is_erc20, false);
    assert.equal(bare.erc20, null);
    assert.equal(bare.is_erc721, false);

    const bad = await callError(client, 'inspect_contract', { address: 'nope' });
    assert.equal(bad.code, 'INVALID_ADDRESS');
  });

  test('REST: import (each kind), WALLET_EXISTS, bad bodies name the field and write nothing; keystore export', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${stack.url}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${stack.adminKey}`, 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const key = randomKey();
    const created = await post('/api/wallets/import', { agent_id: 'rest-pk', kind: 'private_key', private_key: key });
    assert.equal(created.status, 201);
    const { wallet } = (await created.json()) as { wallet: WalletOut };
    assert.equal(wallet.address, new Wallet(key).address);
    assert.equal(wallet.origin, 'private_key');

    const hd = await post('/api/wallets/import', { agent_id: 'rest-hd', kind: 'mnemonic', mnemonic: ABANDON_MNEMONIC, account_index: 1 });
    assert.equal(hd.status, 201);
    const hdBody = (await hd.json()) as { wallet: WalletOut; derivation_path: string };
    assert.equal(hdBody.wallet.address, HDNodeWallet.fromPhrase(ABANDON_MNEMONIC, undefined, "m/44'/60'/0'/0/1").address);
    assert.equal(hdBody.derivation_path, "m/44'/60'/0'/0/1");

    const ksPassword = secret('rest keystore password');
    const foreign = Wallet.createRandom();
    secret(foreign.privateKey);
    const ks = await post('/api/wallets/import', { agent_id: 'rest-ks', kind: 'keystore', encrypted_json: await foreign.encrypt(ksPassword), password: ksPassword });
    assert.equal(ks.status, 201);
    assert.equal(((await ks.json()) as { wallet: WalletOut }).wallet.address, foreign.address);

    const wallets = await countRows(stack, 'wallets');
    const exists = await post('/api/wallets/import', { agent_id: 'rest-pk', kind: 'private_key', private_key: randomKey() });
    assert.equal(exists.status, 409);
    assert.equal(((await exists.json()) as { error: { code: string } }).error.code, 'WALLET_EXISTS');

    const bad: Array<[unknown, string, RegExp]> = [
      ['not json', 'body', /JSON object/],
      [{ kind: 'private_key', private_key: randomKey() }, 'agent_id', /is required/],
      [{ agent_id: 'rest-x', kind: 'seed', private_key: randomKey() }, 'kind', /private_key.*mnemonic.*keystore/],
      [{ agent_id: 'rest-x', kind: 'private_key', private_key: '0x1234' }, 'private_key', /64 hex characters/],
      [{ agent_id: 'rest-x', kind: 'private_key' }, 'private_key', /64 hex characters/],
      [{ agent_id: 'rest-x', kind: 'private_key', private_key: randomKey(), mnemonic: DEV_MNEMONIC }, 'mnemonic', /not used with kind "private_key"/],
      [{ agent_id: 'rest-x', kind: 'mnemonic', mnemonic: DEV_MNEMONIC.replace(/junk$/, 'test') }, 'mnemonic', /checksum/],
      [{ agent_id: 'rest-x', kind: 'mnemonic', mnemonic: DEV_MNEMONIC, account_index: 'one' }, 'account_index', /integer/],
      [{ agent_id: 'rest-x', kind: 'keystore', encrypted_json: SPEC_PBKDF2_KEYSTORE, password: 'nope' }, 'password', /does not decrypt/],
      [{ agent_id: 'rest-x', kind: 'private_key', private_key: randomKey(), colour: 'red' }, 'colour', /not a field/],
      [{ agent_id: 'has space', kind: 'private_key', private_key: randomKey() }, 'agent_id', /letters, digits/],
    ];
    for (const [body, field, message] of bad) {
      const res = await post('/api/wallets/import', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const { error } = (await res.json()) as { error: { code: string; message: string; details: { field: string } } };
      assert.equal(error.code, 'INVALID_INPUT');
      assert.equal(error.details.field, field, error.message);
      assert.match(error.message, message);
    }
    assert.equal(await countRows(stack, 'wallets'), wallets, 'nothing written');

    const passphrase = secret('rest export passphrase');
    const refused = await post(`/api/wallets/${wallet.id}/keystore`, { passphrase });
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'KEY_EXPORT_DISABLED');

    const rows = await stack.server.ctx.db.selectFrom('audit_events').select(['action', 'status', 'error_code', 'request', 'response']).where('kind', '=', 'api_write').where('action', 'like', 'POST /api/wallets%').execute();
    assert.equal(rows.filter((r) => r.action === 'POST /api/wallets/import' && r.status === 'ok').length, 3);
    assert.equal(rows.filter((r) => r.action === 'POST /api/wallets/import' && r.status === 'refused').length, bad.length + 1);
    const refusedExport = rows.find((r) => r.action === 'POST /api/wallets/:id/keystore')!;
    assert.equal(refusedExport.error_code, 'KEY_EXPORT_DISABLED');
    assert.equal((refusedExport.request as { passphrase: string }).passphrase, '[redacted]');

    const openapi = (await (await fetch(`${stack.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    assert.ok(openapi.paths['/api/wallets/import']?.post);
    assert.ok(openapi.paths['/api/wallets/{id}/keystore']?.post);
  });
});
