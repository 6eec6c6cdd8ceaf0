import type { Config } from '../config/load-config.js';
import type { Logger } from '../lib/logger.js';
import { ensureEmbeddedPostgres, type EmbeddedPostgresHandle } from './ensure-embedded-postgres.js';

/** DATABASE_URL when set; otherwise the embedded PostgreSQL, started or reused. */
export async function resolveDatabaseUrl(config: Config, logger: Logger): Promise<{ url: string; embedded?: EmbeddedPostgresHandle }> {
  if (config.databaseUrl) return { url: config.databaseUrl };
  const embedded = await ensureEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort, logger });
  return { url: embedded.url, embedded };
}
