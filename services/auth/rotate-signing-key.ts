import { createDatabase } from "../shared/database/create-database.js";
import { createLogger } from "../shared/logging.js";
import { loadAuthConfig } from "./config.js";
import { rotateSigningKey } from "./domain/key-rotation.js";
import type { AuthDatabase } from "./store/schema.js";

// `npm run rotate-signing-key [-- --activate-after=10m]`: publishes a new access-token signing key
// now and makes every instance sign with it after the delay (default 10 minutes: longer than the
// JWKS Cache-Control max-age and JWT_KEY_REFRESH_INTERVAL, so verifiers know the key before its
// first token). The old key stays in the JWKS until its last token has expired.
const config = loadAuthConfig();
const logger = createLogger("auth", config.LOG_LEVEL);
if (config.JWT_PRIVATE_KEY) {
  logger.error(
    "JWT_PRIVATE_KEY is set: rotate by deploying a new JWT_PRIVATE_KEY (the old public key stays published)",
  );
  process.exit(2);
}
const argument = process.argv.find((arg) => arg.startsWith("--activate-after="))?.split("=")[1] ?? "10m";
const match = /^(\d+)(s|m|h)$/.exec(argument);
if (!match) {
  logger.error(`--activate-after=${argument}: expected a duration like 30s, 10m or 1h`);
  process.exit(2);
}
const activateAfterMs = Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as "s" | "m" | "h"];

const database = await createDatabase<AuthDatabase>({
  url: config.databaseUrl,
  dataDir: `${config.DATA_DIR}/auth`,
  poolSize: 1,
  logger,
});
try {
  const result = await rotateSigningKey(database.db, { now: new Date(), activateAfterMs });
  logger.info({ kid: result.kid, activatesAt: result.activatesAt.toISOString() }, "new signing key published");
} finally {
  await database.close();
}
