import { ConfigError } from "../shared/config/env.js";
import { createDatabase } from "../shared/database/create-database.js";
import { createLogger } from "../shared/logging.js";
import { loadAuthConfig } from "./config.js";
import { rotateSigningKey } from "./domain/key-rotation.js";
import { createKeyVault } from "./domain/key-vault.js";
import { resealStoredKeys } from "./domain/reseal-stored-keys.js";
import type { AuthDatabase } from "./store/schema.js";

// `npm run rotate-signing-key [-- --activate-after=10m]`: publishes a new access-token signing key
// now and makes every instance sign with it after the delay (default JWT_KEY_ACTIVATION_DELAY, 10
// minutes: longer than the JWKS Cache-Control max-age and JWT_KEY_REFRESH_INTERVAL, so verifiers
// know the key before its first token). The old key stays in the JWKS until its last token has
// expired. The new private key is sealed under KEY_ENCRYPTION_KEY, as the service seals its own.
// A configuration error (a missing or wrong KEY_ENCRYPTION_KEY too) exits 78, as the service does.
try {
  await rotate();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`rotate-signing-key: ${error.message}\n`);
  process.exit(78);
}

async function rotate(): Promise<void> {
  const config = loadAuthConfig();
  const logger = createLogger("auth", config.LOG_LEVEL);
  if (config.JWT_PRIVATE_KEY) {
    logger.error(
      "JWT_PRIVATE_KEY is set: rotate by deploying a new JWT_PRIVATE_KEY (the old public key stays published)",
    );
    process.exit(2);
  }
  const argument = process.argv.find((arg) => arg.startsWith("--activate-after="))?.split("=")[1];
  const match = /^(\d+)(s|m|h)$/.exec(argument ?? "0s");
  if (!match) {
    logger.error(`--activate-after=${argument}: expected a duration like 30s, 10m or 1h`);
    process.exit(2);
  }
  const activateAfterMs =
    argument === undefined
      ? config.JWT_KEY_ACTIVATION_DELAY
      : Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as "s" | "m" | "h"];
  const vault = createKeyVault(config.keyEncryptionKeys);

  const database = await createDatabase<AuthDatabase>({
    url: config.databaseUrl,
    dataDir: `${config.DATA_DIR}/auth`,
    poolSize: 1,
    logger,
  });
  try {
    // The KEK is checked against the stored keys first (and any still in the clear are sealed), so a
    // wrong or missing KEY_ENCRYPTION_KEY stops here instead of writing a key the service cannot open.
    await resealStoredKeys(database.db, vault, logger);
    const result = await rotateSigningKey(database.db, { now: new Date(), activateAfterMs, vault });
    logger.info({ kid: result.kid, activatesAt: result.activatesAt.toISOString() }, "new signing key published");
  } finally {
    await database.close();
  }
}
