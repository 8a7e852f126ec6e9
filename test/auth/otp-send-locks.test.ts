import { sql, type Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authMigrations } from "../../services/auth/migrations/index.js";
import { startOtpSend } from "../../services/auth/store/otp-store.js";
import type { AuthDatabase } from "../../services/auth/store/schema.js";
import { createDatabase, type DatabaseHandle } from "../../services/shared/database/create-database.js";
import { migrateToLatest } from "../../services/shared/database/migrate.js";
import { createLogger } from "../../services/shared/logging.js";
import { createTestDatabase, type TestDatabase } from "../support/index.js";

// SendOtp's counting statement (otp-store.ts, startOtpSend) takes the identifier's advisory lock
// (rate-limit-store.ts, keyLockedFirst) before it looks for the identifier's row, whatever plan that
// lookup gets, even when there is no row to find: its sends take their locks in one order only so.

const logger = createLogger("test", "silent");

describe("the identifier's advisory lock", () => {
  let testDatabase: TestDatabase;
  let database: DatabaseHandle<AuthDatabase>;

  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    database = await createDatabase<AuthDatabase>({ url: testDatabase.url, dataDir: "", poolSize: 2, logger });
    await migrateToLatest(database.db as Kysely<unknown>, authMigrations, logger);
    // An empty, analyzed table: the planner's own choice for it may well be a sequential scan.
    await sql`analyze rate_limits`.execute(database.db);
  });

  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  /** Advisory locks SendOtp's counting statement leaves its transaction holding, with the given scans allowed. */
  async function advisoryLocksAfterCounting(identifier: string, scans: "index" | "sequential"): Promise<number> {
    return database.db.transaction().execute(async (trx) => {
      if (scans === "sequential") {
        await sql`set local enable_indexscan = off`.execute(trx);
        await sql`set local enable_bitmapscan = off`.execute(trx);
      }
      const now = new Date();
      const start = await startOtpSend(trx, {
        identifier,
        identifierKey: `otp-send:identifier:${identifier}`,
        ipKey: `otp-send:ip:${scans}`,
        now,
        windowMs: 15 * 60_000,
        maxSendsPerIdentifier: 3,
        maxSendsPerIp: 30,
        budget: { channel: "email", windowStart: now, budget: 1000 },
      });
      expect(start.counted).toBe(true);
      const locks = await sql<{ count: number }>`
        select count(*)::integer as count from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()`.execute(
        trx,
      );
      return locks.rows[0]?.count ?? 0;
    });
  }

  it("is taken by SendOtp's statement for an identifier with no row yet, with an index scan or a sequential scan", async () => {
    expect(await advisoryLocksAfterCounting("first@example.com", "index")).toBe(1);
    expect(await advisoryLocksAfterCounting("second@example.com", "sequential")).toBe(1);
  });
});
