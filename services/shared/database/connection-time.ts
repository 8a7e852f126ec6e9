import type { Kysely } from "kysely";
import type { Clock } from "../clock.js";

/**
 * Runs `write` on a connection of the pool, with the time read once that connection is held. For a
 * lone autocommit statement whose events say when their change committed (occurred_at): read before
 * the pool's queue, the time would be early by however long the call waited there (tens of
 * milliseconds with more calls in flight than connections); read here, it is within a round trip of
 * the commit (plus any wait for a row lock the statement takes).
 *
 * `write` must use `connection`, never the pool it came from: with PGlite's one connection a query
 * on `db` would wait forever for the connection `write` holds, and on Postgres it would take a
 * second pool slot.
 */
export function withConnectionTime<DB, T>(
  db: Kysely<DB>,
  clock: Clock,
  write: (connection: Kysely<DB>, now: Date) => Promise<T>,
): Promise<T> {
  return db.connection().execute((connection) => write(connection, clock.now()));
}
