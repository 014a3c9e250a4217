/**
 * What every process entry (server, worker, launcher) does the same way: load the configuration
 * or exit listing its problems, report a failed start, and close once on SIGINT/SIGTERM.
 */
import { loadConfig, type Config } from './config.ts';
import { ConfigError } from './errors.ts';
import type { Logger } from './logger.ts';

/**
 * Loads the configuration from `process.env`; on a {@link ConfigError} prints every problem to
 * stderr as `vaultpilot <name>: …` and exits with code 1.
 */
export function loadConfigOrExit(name: string): Config {
  try {
    return loadConfig();
  } catch (err) {
    return exitOnStartError(name, err);
  }
}

/**
 * Reports an error that stopped a process from starting and exits 1: configuration errors as
 * their message (no stack; they are the operator's to fix), anything else through the logger.
 */
export function exitOnStartError(name: string, err: unknown, logger?: Logger): never {
  if (err instanceof ConfigError || !logger) {
    process.stderr.write(`vaultpilot ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
  } else {
    logger.fatal({ err }, `${name} failed to start`);
  }
  process.exit(1);
}

/**
 * Calls `close` once on the first SIGINT or SIGTERM, or when the `npm start` launcher that spawned
 * this process with an IPC channel goes away, then exits with code 0.
 */
export function closeOnSignals(logger: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await close().catch((err: unknown) => logger.error({ err }, 'shutdown error'));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  if (process.connected) process.on('disconnect', () => void stop('launcher gone'));
}
