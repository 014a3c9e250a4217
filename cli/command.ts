/**
 * The shape of a `vaultpilot` CLI command and the helpers every command shares: argument parsing
 * with clear errors (node:util `parseArgs`), and a usage error type the dispatcher prints.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** One `vaultpilot <group> <name>` command. */
export interface CliCommand {
  /** Words after `vaultpilot`, e.g. `['keys', 'rewrap']`. */
  path: string[];
  /** One line for `vaultpilot help`. */
  summary: string;
  /** The full usage text printed on `--help` or a usage error. */
  usage: string;
  /**
   * Runs the command with the arguments after its path.
   * @returns the process exit code (0 success, 1 failure, 2 usage error).
   */
  run(args: string[]): Promise<number>;
}

/** A command line that breaks a rule; the dispatcher prints it with the usage and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Parses options strictly (unknown options and stray positionals are errors).
 * @throws {UsageError} naming the option that is wrong.
 */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/**
 * A whole-number option such as a batch size (a count, never an amount of money).
 * @throws {UsageError} when `value` is not an integer in [min, max].
 */
export function intOption(name: string, value: string | undefined, fallback: number, min = 1, max = 10_000): number {
  if (value === undefined) return fallback;
  const count = /^\d{1,9}$/.test(value) ? Number.parseInt(value, 10) : Number.NaN;
  if (!(count >= min && count <= max)) throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got "${value}")`);
  return count;
}

/**
 * Parses options strictly and takes exactly the positional arguments `names` (e.g. `['NAME']`).
 * @throws {UsageError} naming the option that is wrong, or the positional that is missing or extra.
 */
export function parseCommandLine<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, names: readonly string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (parsed.positionals.length < names.length) throw new UsageError(`${names[parsed.positionals.length]} is required`);
  if (parsed.positionals.length > names.length) throw new UsageError(`unexpected argument "${parsed.positionals[names.length]}"`);
  return { values: parsed.values, positionals: parsed.positionals };
}
