import { sql, type Kysely, type Migration } from "kysely";

/**
 * The outbox's own migration, merged into each service's migration list. Frozen in time like every
 * migration: it imports no application code.
 */
export const outboxMigrations: Record<string, Migration> = {
  "2026-11-26T00-00-00_outbox": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("outbox")
        .addColumn("id", "uuid", (col) => col.primaryKey())
        .addColumn("subject", "text", (col) => col.notNull())
        .addColumn("event_type", "text", (col) => col.notNull())
        .addColumn("payload", "bytea", (col) => col.notNull())
        .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
        .addColumn("sent_at", "timestamptz")
        .addColumn("attempts", "integer", (col) => col.notNull().defaultTo(0))
        .addColumn("last_error", "text")
        .execute();
      // The relay only ever looks for unsent rows, oldest first.
      await sql`create index outbox_pending on outbox (created_at, id) where sent_at is null`.execute(db);
      await sql`create index outbox_sent_at on outbox (sent_at) where sent_at is not null`.execute(db);
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable("outbox").execute();
    },
  },
  // Ties on created_at (one transaction's several events, a clock that stands still, two instances'
  // clocks apart) left the relay's order to the random event id. An identity column numbers rows as
  // they are inserted; see the outbox in docs/events.md for what that order promises.
  // Adding it rewrites the table under an exclusive lock; the outbox keeps only a day of sent rows.
  "2026-12-10T00-00-00_outbox-sequence": {
    async up(db: Kysely<any>) {
      await sql`alter table outbox add column seq bigint generated always as identity`.execute(db);
      // The rewrite numbers rows where they lie on disk, and a row put back after a failed publish
      // has moved. The unsent ones (only a backlog) are written again in time order, keeping their ids.
      await sql`
        with pending as (delete from outbox where sent_at is null returning *)
        insert into outbox (id, subject, event_type, payload, created_at, sent_at, attempts, last_error)
        select id, subject, event_type, payload, created_at, sent_at, attempts, last_error
        from pending order by created_at, id`.execute(db);
      await sql`drop index outbox_pending`.execute(db);
      await sql`create index outbox_pending on outbox (seq) include (created_at) where sent_at is null`.execute(db);
    },
    async down(db: Kysely<any>) {
      await sql`drop index outbox_pending`.execute(db);
      await sql`alter table outbox drop column seq`.execute(db);
      await sql`create index outbox_pending on outbox (created_at, id) where sent_at is null`.execute(db);
    },
  },
};
