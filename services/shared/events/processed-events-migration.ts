import { sql, type Kysely, type Migration } from "kysely";

/**
 * The processed_events table's own migration (see processed-events-store.ts), merged into the
 * migrations of a service that marks events. Frozen in time like every migration: it imports no
 * application code.
 */
export const processedEventsMigrations: Record<string, Migration> = {
  "2026-11-26T00-30-00_processed-events": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("processed_events")
        .addColumn("consumer", "text", (col) => col.notNull())
        .addColumn("event_id", "text", (col) => col.notNull())
        .addColumn("processed_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint("processed_events_pkey", ["consumer", "event_id"])
        .execute();
      await db.schema
        .createIndex("processed_events_processed_at")
        .on("processed_events")
        .column("processed_at")
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable("processed_events").execute();
    },
  },
};
