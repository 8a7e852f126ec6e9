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
};
