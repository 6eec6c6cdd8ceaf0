import type { Command } from 'commander';
import { createLogger } from '../../lib/logger.js';
import { applyMigrations } from '../../db/migrate.js';
import { resolveDatabaseUrl } from '../../db/resolve-database-url.js';
import type { CliContext } from '../cli-context.js';

export function registerMigrateCommand(program: Command, context: CliContext): void {
  program
    .command('migrate')
    .description('apply pending database migrations (dfm serve also applies them at start)')
    .action(async () => {
      const config = context.config();
      const logger = createLogger(config.logLevel, process.stderr, config.logFormat);
      const database = await resolveDatabaseUrl(config, logger);
      try {
        const { applied } = await applyMigrations(database.url, logger);
        context.stdout.write(applied > 0 ? `applied ${applied} migration(s)\n` : 'database schema is up to date\n');
      } finally {
        if (database.embedded?.started) await database.embedded.stop();
      }
    });
}
