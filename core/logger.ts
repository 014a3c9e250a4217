/**
 * Structured JSON logs (pino). Secrets are removed by path before a line is written, so a key,
 * mnemonic, passphrase, confirmation code or signed raw transaction passed under its name never
 * reaches the log sink; and logged errors (`err`, as an Error or its message) are scrubbed of
 * signed payloads at any depth (core/scrub.ts), since ethers quotes them in its messages.
 */
import { pino, type Logger } from 'pino';
import { scrubDeep, scrubSignedPayloads } from './scrub.ts';

/** Object paths whose values are replaced by "[redacted]" in every log line. */
export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'api_key',
  '*.api_key',
  'private_key',
  '*.private_key',
  'privateKey',
  '*.privateKey',
  'mnemonic',
  '*.mnemonic',
  'keystore',
  '*.keystore',
  'keystore_json',
  '*.keystore_json',
  'encrypted_json',
  '*.encrypted_json',
  'passphrase',
  '*.passphrase',
  'new_passphrase',
  '*.new_passphrase',
  'password',
  '*.password',
  'confirmation_code',
  '*.confirmation_code',
  'export_code',
  '*.export_code',
  'encrypt_key',
  '*.encrypt_key',
  'raw_tx',
  '*.raw_tx',
  'rawTx',
  '*.rawTx',
  'signedTransaction',
  '*.signedTransaction',
];

/** pino's error serializer, then every string in it scrubbed of signed payloads. */
function errSerializer(err: unknown): unknown {
  if (typeof err === 'string') return scrubSignedPayloads(err);
  if (!(err instanceof Error)) return scrubDeep(err);
  return scrubDeep(pino.stdSerializers.err(err));
}

/**
 * Creates the process logger.
 * @param name - `server` | `worker` | a script name, added as the `process` field.
 * @param level - pino level from `LOG_LEVEL`.
 * @param destination - where lines go (default stdout); tests pass a stream to read them.
 */
export function createLogger(name: string, level = 'info', destination?: pino.DestinationStream): Logger {
  return pino({
    level,
    base: { process: name },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: errSerializer, error: errSerializer },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, destination);
}

export type { Logger };
