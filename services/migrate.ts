import { loadAuthConfig } from "./auth/config.js";
import { authMigrations } from "./auth/migrations/index.js";
import { createDatabase } from "./shared/database/create-database.js";
import { migrateToLatest } from "./shared/database/migrate.js";
import { createLogger } from "./shared/logging.js";
import { loadUserConfig } from "./user/config.js";
import { userMigrations } from "./user/migrations/index.js";

// `npm run migrate`: applies both services' migrations and exits, for deployments that run
// migrations as a release step (with MIGRATE_ON_START=false on the services).
const targets = [
  { name: "auth", config: loadAuthConfig(), migrations: authMigrations },
  { name: "user", config: loadUserConfig(), migrations: userMigrations },
] as const;

for (const target of targets) {
  const logger = createLogger(target.name, target.config.LOG_LEVEL);
  const database = await createDatabase<unknown>({
    url: target.config.databaseUrl,
    dataDir: `${target.config.DATA_DIR}/${target.name}`,
    poolSize: 1,
    logger,
  });
  try {
    await migrateToLatest(database.db, target.migrations, logger);
  } finally {
    await database.close();
  }
}
