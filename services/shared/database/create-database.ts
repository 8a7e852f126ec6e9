import { mkdir } from "node:fs/promises";
import { Kysely, PostgresDialect, type Dialect } from "kysely";
import pg from "pg";
import type { Logger } from "../logging.js";

export interface DatabaseHandle<DB> {
  db: Kysely<DB>;
  /** "postgres" for a real server, "pglite" for the embedded default. */
  kind: "postgres" | "pglite";
  /** Where the data lives, without credentials, for the start-up log line. */
  location: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A postgres:// URL; without one, an embedded PGlite database lives in `dataDir`. */
  url: string | undefined;
  dataDir: string;
  poolSize: number;
  logger: Logger;
}

/**
 * One place that turns configuration into a Kysely instance, so both services get the same pool
 * settings and the same embedded fallback.
 */
export async function createDatabase<DB>(options: DatabaseOptions): Promise<DatabaseHandle<DB>> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      // Fail fast instead of queueing forever when Postgres is gone; the RPC answers UNAVAILABLE.
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle client losing its connection (Postgres restarting) must not crash the process:
    // the pool drops the client and the next query opens a fresh connection.
    pool.on("error", (error) => options.logger.warn({ err: error }, "idle database connection lost"));
    // The pool stops listening to a client while it is checked out. If the connection dies between two
    // statements of a transaction (Postgres restarting while a relay waits on NATS, say), pg emits
    // 'error' on the client, and an 'error' event nobody listens to ends the whole process. The next
    // statement fails by itself (the RPC answers UNAVAILABLE) and the pool discards the dead client.
    pool.on("connect", (client) => {
      client.on("error", (error) => options.logger.debug({ err: error }, "database connection lost while in use"));
    });
    const location = redactUrl(options.url);
    return fromDialect<DB>(new PostgresDialect({ pool }), "postgres", location);
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGliteDialect } = await import("kysely-pglite-dialect");
  await mkdir(options.dataDir, { recursive: true });
  const pglite = await PGlite.create(options.dataDir);
  return fromDialect<DB>(new PGliteDialect(pglite), "pglite", options.dataDir);
}

function fromDialect<DB>(dialect: Dialect, kind: DatabaseHandle<DB>["kind"], location: string): DatabaseHandle<DB> {
  const db = new Kysely<DB>({ dialect });
  return {
    db,
    kind,
    location,
    // Both drivers close their pool / embedded instance when Kysely is destroyed.
    close: () => db.destroy(),
  };
}

function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}
