import { hostname, userInfo } from "node:os";
import { parseArgs } from "node:util";
import type { Kysely } from "kysely";
import { createDatabase } from "../shared/database/create-database.js";
import { migrateToLatest } from "../shared/database/migrate.js";
import { DomainError } from "../shared/errors/domain-errors.js";
import { createLogger } from "../shared/logging.js";
import { createTransact } from "../shared/outbox/transact.js";
import { systemClock } from "../shared/clock.js";
import { loadAuthConfig } from "./config.js";
import { createServiceAccounts, type ServiceAccountRecord } from "./domain/service-accounts.js";
import { authMigrations } from "./migrations/index.js";
import type { AuthDatabase } from "./store/schema.js";

// `npm run service-account -- <command>`: operators manage other services' identities for the OAuth
// 2.0 client credentials grant, against the auth service's database as the service itself opens it
// (AUTH_DATABASE_URL, or the embedded database under DATA_DIR/auth: stop `npm start` first, an
// embedded database has one process at a time). Results go to stdout as JSON; the audit lines of
// the changes go to stderr with the service's logs. Each change also emits its event through the
// outbox, which a running auth service publishes.
const usage = `usage: npm run service-account -- <command>
  create NAME --scope SCOPE [--scope SCOPE ...]   prints {"client_id", "client_secret"}; the secret is shown once
  list                                            every account (never a secret)
  rotate-secret NAME                              prints a new secret; the old one stops working at once
  disable NAME                                    no new tokens for the account, for good`;

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function parseCommandLine() {
  try {
    return parseArgs({ options: { scope: { type: "string", multiple: true } }, allowPositionals: true, strict: true });
  } catch (error) {
    return fail(`${(error as Error).message}\n${usage}`, 2);
  }
}

const parsed = parseCommandLine();
const [command, name = "", ...extra] = parsed.positionals;
const needsName = command === "create" || command === "rotate-secret" || command === "disable";
if (!command || (needsName ? !name || extra.length > 0 : command !== "list" || name !== "")) fail(usage, 2);
if (parsed.values.scope && command !== "create") fail(`--scope is for create only\n${usage}`, 2);

/** Who ran the command, for the audit trail: the machine's account, not a proven identity. */
function operator(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `unknown@${hostname()}`;
  }
}

const view = (account: ServiceAccountRecord) => ({
  client_id: account.clientId,
  name: account.name,
  scopes: account.scopes,
  created_at: account.createdAt.toISOString(),
  secret_rotated_at: account.secretRotatedAt?.toISOString() ?? null,
  disabled_at: account.disabledAt?.toISOString() ?? null,
});

const config = loadAuthConfig();
const logger = createLogger("auth", config.LOG_LEVEL, process.stderr);
const database = await createDatabase<AuthDatabase>({
  url: config.databaseUrl,
  dataDir: `${config.DATA_DIR}/auth`,
  poolSize: 1,
  logger,
});
let exitCode = 0;
try {
  if (config.MIGRATE_ON_START) await migrateToLatest(database.db as Kysely<unknown>, authMigrations, logger);
  // No relay runs here: the auth service publishes what this command writes to the outbox.
  const accounts = createServiceAccounts({
    db: database.db,
    transact: createTransact(database.db, () => {}),
    clock: systemClock,
    logger,
  });
  const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  if (command === "create") {
    const created = await accounts.create(name, parsed.values.scope ?? [], operator());
    print({ client_id: created.clientId, client_secret: created.clientSecret });
  } else if (command === "rotate-secret") {
    const rotated = await accounts.rotateSecret(name, operator());
    print({ client_id: rotated.clientId, client_secret: rotated.clientSecret });
  } else if (command === "disable") {
    print(view(await accounts.disable(name, operator())));
  } else {
    print((await accounts.list()).map(view));
  }
} catch (error) {
  if (!(error instanceof DomainError)) throw error;
  process.stderr.write(`${error.message}\n`);
  exitCode = 1;
} finally {
  await database.close();
}
process.exitCode = exitCode;
