/**
 * Structured JSON logs (pino). Secrets are removed by path before a line is written, so a key,
 * mnemonic, passphrase or confirmation code passed anywhere in a logged object never reaches
 * the log sink.
 */
import { pino, type Logger } from 'pino';

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
];

/**
 * Creates the process logger.
 * @param name - `server` | `worker` | a script name, added as the `process` field.
 * @param level - pino level from `LOG_LEVEL`.
 */
export function createLogger(name: string, level = 'info'): Logger {
  return pino({
    level,
    base: { process: name },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

export type { Logger };
