import type { ColumnType, Generated, Kysely } from "kysely";

/** The outbox table both services keep in their own database (see outbox-migration.ts). */
export interface OutboxTable {
  /** Numbered by the database as rows are inserted: the order the relay publishes in. */
  seq: ColumnType<string, never, never>;
  /** The event id: also the JetStream `Nats-Msg-Id`, so a re-publish is de-duplicated. */
  id: string;
  subject: string;
  /** Fully qualified protobuf type name, e.g. mintcoin.events.v1.OtpSent. */
  event_type: string;
  payload: Uint8Array;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  sent_at: ColumnType<Date | null, never, Date | string | null>;
  attempts: Generated<number>;
  last_error: string | null;
}

export interface OutboxDatabase {
  outbox: OutboxTable;
}

/**
 * A service's Kysely seen as just its outbox table. Kysely's types are invariant in the database
 * type, so a `Kysely<AuthDatabase>` is not a `Kysely<OutboxDatabase>` even though it has that table;
 * the `extends` bound is what makes this view safe.
 */
export function outboxView<DB extends OutboxDatabase>(db: Kysely<DB>): Kysely<OutboxDatabase> {
  return db as unknown as Kysely<OutboxDatabase>;
}
