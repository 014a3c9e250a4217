/**
 * `npm run migrate`: applies pending database migrations and exits (the server also applies them
 * at start). With DATABASE_URL unset it migrates the embedded Postgres under DATA_DIR.
 */
import { loadConfig } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';
import { connectDb, migrate } from '../core/db/connect.ts';
import { startEmbeddedPostgres } from './embedded/postgres.ts';

try {
  const config = loadConfig();
  const pg = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir);
  const { db } = connectDb(config.databaseUrl ?? pg!.url, 1);
  try {
    const applied = await migrate(db);
    process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  } finally {
    await db.destroy();
    await pg?.stop();
  }
} catch (err) {
  process.stderr.write(`vaultpilot migrate: ${err instanceof ConfigError || err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
