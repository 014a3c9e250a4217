/**
 * `vaultpilot <group> <command> [options]`: operator commands that run beside the service on the
 * same database (key rotation, imports). Commands are loaded on demand; each prints a report on
 * stdout and exits 0 on success, 1 on failure, 2 on a usage error.
 */
import type { CliCommand } from './command.ts';
import { UsageError } from './command.ts';
import { VaultPilotError } from '../core/errors.ts';
import { KeyProviderError } from '../keyproviders/index.ts';

/** Every command, loaded lazily so `vaultpilot help` opens nothing. */
const COMMANDS: Array<{ path: string[]; load: () => Promise<CliCommand> }> = [
  { path: ['tenants', 'create'], load: async () => (await import('./commands/tenants.ts')).tenantsCreate },
  { path: ['tenants', 'list'], load: async () => (await import('./commands/tenants.ts')).tenantsList },
  { path: ['keys', 'create'], load: async () => (await import('./commands/keys.ts')).keysCreate },
  { path: ['keys', 'list'], load: async () => (await import('./commands/keys.ts')).keysList },
  { path: ['keys', 'revoke'], load: async () => (await import('./commands/keys.ts')).keysRevoke },
  { path: ['keys', 'rewrap'], load: async () => (await import('./commands/keys-rewrap.ts')).keysRewrap },
  { path: ['import', 'agentvault'], load: async () => (await import('./commands/import-agentvault.ts')).importAgentvault },
  { path: ['wallets', 'backup'], load: async () => (await import('./commands/wallets-backup.ts')).walletsBackup },
  { path: ['audit', 'verify'], load: async () => (await import('./commands/audit-verify.ts')).auditVerify },
  { path: ['audit', 'export'], load: async () => (await import('./commands/audit-export.ts')).auditExport },
];

async function help(): Promise<string> {
  const lines = ['usage: vaultpilot <command> [options]   (vaultpilot <command> --help for its options)', '', 'commands:'];
  for (const entry of COMMANDS) lines.push(`  ${entry.path.join(' ').padEnd(20)} ${(await entry.load()).summary}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Runs the command named by `argv` (the words after `vaultpilot`).
 * @returns the exit code.
 */
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || ['help', '--help', '-h'].includes(argv[0]!)) {
    process.stdout.write(await help());
    return argv.length === 0 ? 2 : 0;
  }
  const entry = COMMANDS.find((c) => c.path.every((word, i) => argv[i] === word));
  if (!entry) {
    process.stderr.write(`vaultpilot: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${await help()}`);
    return 2;
  }
  const command = await entry.load();
  const args = argv.slice(entry.path.length);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`vaultpilot ${command.path.join(' ')}: ${err.message}\n\n${command.usage}\n`);
      return 2;
    }
    if (err instanceof VaultPilotError || err instanceof KeyProviderError) {
      process.stderr.write(`vaultpilot ${command.path.join(' ')}: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
