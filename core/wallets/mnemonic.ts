/**
 * BIP-39 mnemonics and BIP-44 derivation: parsing a phrase with clear, coded refusals (word count,
 * unknown word, checksum), deriving the Ethereum key at `m/44'/60'/0'/0/<index>` or an explicit
 * BIP-32 path, and generating new phrases. English word list only.
 *
 * Messages never echo the phrase, a word of it or the passphrase.
 */
import { randomBytes } from 'node:crypto';
import { HDNodeWallet, LangEn, Mnemonic, getBytes } from 'ethers';
import { ValidationError } from '../errors.ts';

/** Word counts BIP-39 defines (128 to 256 bits of entropy in 32-bit steps). */
export const MNEMONIC_WORD_COUNTS = [12, 15, 18, 21, 24] as const;
export type MnemonicWordCount = (typeof MNEMONIC_WORD_COUNTS)[number];

/** Longest BIP-39 passphrase accepted (characters); a bound on work, not a BIP-39 rule. */
const MAX_PASSPHRASE_LENGTH = 1024;
/** Highest non-hardened BIP-32 child index + 1 (2^31). */
const HARDENED = 0x8000_0000;

/**
 * The BIP-44 path of Ethereum account `index` as wallets such as MetaMask and anvil derive it:
 * `m/44'/60'/0'/0/<index>`.
 */
export function bip44Path(index: number): string {
  return `m/44'/60'/0'/0/${index}`;
}

/**
 * Validates a BIP-39 phrase: 12, 15, 18, 21 or 24 words from the English list, with a valid
 * checksum. Whitespace between words is normalised and case is ignored.
 * @param field - the argument name used in errors (`mnemonic`).
 * @returns the normalised phrase (lowercase, single spaces).
 * @throws {ValidationError} `INVALID_INPUT` naming `field`: not a string, wrong word count, a
 *   word not in the list (by position, never the word), or a failed checksum.
 */
export function parseMnemonic(value: unknown, field = 'mnemonic'): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(field, 'must be a BIP-39 phrase of 12, 15, 18, 21 or 24 English words separated by spaces');
  }
  const words = value.normalize('NFKD').trim().toLowerCase().split(/\s+/);
  if (!(MNEMONIC_WORD_COUNTS as readonly number[]).includes(words.length)) {
    throw new ValidationError(field, `has ${words.length} words; a BIP-39 phrase has 12, 15, 18, 21 or 24`);
  }
  const wordlist = LangEn.wordlist();
  const unknown = words.findIndex((w) => wordlist.getWordIndex(w) < 0);
  if (unknown >= 0) {
    throw new ValidationError(field, `word ${unknown + 1} is not in the BIP-39 English word list (check its spelling)`);
  }
  const phrase = words.join(' ');
  if (!Mnemonic.isValidMnemonic(phrase, wordlist)) {
    throw new ValidationError(field, 'fails the BIP-39 checksum: a word is wrong or out of order');
  }
  return phrase;
}

/**
 * Validates an optional BIP-39 passphrase (the "25th word"); any string up to 1024 characters.
 * @returns the passphrase, `''` when absent.
 * @throws {ValidationError} `INVALID_INPUT` naming `field`.
 */
export function parseMnemonicPassphrase(value: unknown, field = 'passphrase'): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string' || value.length > MAX_PASSPHRASE_LENGTH) {
    throw new ValidationError(field, `must be a string of at most ${MAX_PASSPHRASE_LENGTH} characters (the optional BIP-39 passphrase)`);
  }
  return value;
}

/**
 * Resolves the derivation path from `path` or `account_index` (not both).
 * `path` must be BIP-32 syntax: `m` then 1-255 levels `/n` or `/n'` (hardened), each n < 2^31.
 * `account_index` (default 0) is an integer from 0 to 2^31 - 1 and gives {@link bip44Path}.
 * @throws {ValidationError} `INVALID_INPUT` naming `path` or `account_index`.
 */
export function resolveDerivationPath(input: { path?: unknown; account_index?: unknown }): string {
  const hasPath = input.path !== undefined && input.path !== null;
  const hasIndex = input.account_index !== undefined && input.account_index !== null;
  if (hasPath && hasIndex) throw new ValidationError('path', 'give either path or account_index, not both');
  if (hasIndex) {
    const i = input.account_index;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= HARDENED) {
      throw new ValidationError('account_index', `must be an integer from 0 to ${HARDENED - 1}`);
    }
    return bip44Path(i);
  }
  if (!hasPath) return bip44Path(0);
  const path = input.path;
  const levels = typeof path === 'string' ? path.split('/') : [];
  const ok =
    levels.length >= 2 &&
    levels.length <= 256 &&
    levels[0] === 'm' &&
    levels.slice(1).every((l) => /^(0|[1-9]\d{0,9})'?$/.test(l) && Number(l.replace("'", '')) < HARDENED);
  if (!ok) {
    throw new ValidationError('path', `must be a BIP-32 path such as "m/44'/60'/0'/0/0": "m", then 1-255 levels of an index below 2^31, "'" marking a hardened level`);
  }
  return path as string;
}

/**
 * Derives the 32-byte secp256k1 private key at `path` from a validated phrase (BIP-39 seed with
 * `passphrase`, then BIP-32 derivation). The returned bytes are the caller's to zero; ethers keeps
 * hex strings of the seed chain that JavaScript cannot wipe.
 */
export function deriveKeyFromMnemonic(phrase: string, passphrase: string, path: string): Uint8Array {
  const node = HDNodeWallet.fromPhrase(phrase, passphrase, path);
  return getBytes(node.privateKey);
}

/**
 * A new random BIP-39 phrase: `numWords * 4 / 3` bytes from the OS CSPRNG as entropy.
 * @param numWords - 12, 15, 18, 21 or 24 (default 12).
 * @param language - only `english` (or `en`), case-insensitive.
 * @throws {ValidationError} `INVALID_INPUT` naming `num_words` or `language`.
 */
export function generateMnemonic(numWords: unknown = 12, language: unknown = 'english'): { mnemonic: string; num_words: MnemonicWordCount; language: 'english' } {
  if (typeof numWords !== 'number' || !(MNEMONIC_WORD_COUNTS as readonly number[]).includes(numWords)) {
    throw new ValidationError('num_words', 'must be 12, 15, 18, 21 or 24');
  }
  if (typeof language !== 'string' || !['english', 'en'].includes(language.trim().toLowerCase())) {
    throw new ValidationError('language', 'only "english" is supported (the BIP-39 English word list, which every wallet reads)');
  }
  const entropy = randomBytes((numWords * 4) / 3);
  try {
    return { mnemonic: Mnemonic.fromEntropy(entropy).phrase, num_words: numWords as MnemonicWordCount, language: 'english' };
  } finally {
    entropy.fill(0);
  }
}
