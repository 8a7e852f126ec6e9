import type { Kysely } from "kysely";
import type { OutboxRow } from "../events/outbox-rows.js";
import type { AuthDatabase } from "./schema.js";

/** Writes events to the outbox in one statement; call it in the transaction of the change. */
export async function insertOutboxRows(db: Kysely<AuthDatabase>, rows: OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto("outbox").values(rows).execute();
}
