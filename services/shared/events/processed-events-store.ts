import type { ColumnType, Kysely } from "kysely";

// The table that makes a consumer's handler idempotent by event id (see durable-consumer.ts): the
// handler marks the event in the transaction of its effect, and skips the effect when it was marked.
// Its migration is processed-events-migration.ts.

/** Event ids a consumer has applied; written in the same transaction as the effect. */
export interface ProcessedEventsTable {
  consumer: string;
  event_id: string;
  processed_at: ColumnType<Date, Date | string | undefined, never>;
}

export interface ProcessedEventsDatabase {
  processed_events: ProcessedEventsTable;
}

/**
 * Records that `consumer` applied `eventId`. Returns false when it already had: the caller then
 * skips the effect. Call it first in the transaction of the effect, so that the effect and the mark
 * commit together; a concurrent duplicate waits on the primary key and then sees the mark.
 */
export async function markEventProcessed<DB extends ProcessedEventsDatabase>(
  db: Kysely<DB>,
  consumer: string,
  eventId: string,
): Promise<boolean> {
  const inserted = await (db as unknown as Kysely<ProcessedEventsDatabase>)
    .insertInto("processed_events")
    .values({ consumer, event_id: eventId })
    .onConflict((oc) => oc.columns(["consumer", "event_id"]).doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
}
