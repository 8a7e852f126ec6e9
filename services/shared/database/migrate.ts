import { Migrator, type Kysely, type Migration } from "kysely";
import type { Logger } from "../logging.js";

/**
 * Applies every pending migration. Migration names start with a timestamp, so sorting them by name is
 * the order they were written in; Kysely's Migrator takes a lock, so several instances starting at
 * once apply each migration exactly once.
 */
export async function migrateToLatest(
  db: Kysely<unknown>,
  migrations: Record<string, Migration>,
  logger: Logger,
): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  for (const result of results ?? []) {
    if (result.status === "Success") logger.info({ migration: result.migrationName }, "migration applied");
    if (result.status === "Error") logger.error({ migration: result.migrationName }, "migration failed");
  }
  if (error) throw new Error("database migration failed", { cause: error });
}
