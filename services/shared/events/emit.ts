import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Kysely } from "kysely";
import type { Clock } from "../clock.js";
import type { OutboxDatabase } from "../outbox/outbox-table.js";
import { recordEvent } from "../outbox/record-event.js";
import { eventCatalog, type EventSubject } from "./catalog.js";

/** The fields of a subject's event message that the emitter fills in (the id and time are added). */
export type EventData<S extends EventSubject> = Omit<
  MessageInitShape<(typeof eventCatalog)[S]>,
  "eventId" | "occurredAt" | "$typeName"
>;

/**
 * Records the event of `subject` in the outbox, typed by the catalog: the subject decides the message
 * type, so an emitter cannot put a Login on auth.logout. Call it inside the transaction of the change.
 */
export function emitEvent<DB extends OutboxDatabase, S extends EventSubject>(
  db: Kysely<DB>,
  clock: Clock,
  subject: S,
  data: EventData<S>,
): Promise<string> {
  return recordEvent(db, clock, { subject, schema: eventCatalog[subject], data } as Parameters<typeof recordEvent>[2]);
}
