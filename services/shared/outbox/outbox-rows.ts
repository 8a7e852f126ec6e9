import { randomUUID } from "node:crypto";
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Insertable } from "kysely";
import { eventCatalog, type EventSubject } from "../events/catalog.js";
import type { OutboxTable } from "./outbox-table.js";

/** The fields of a subject's event message that the builder fills in (the id and time are added). */
export type EventData<S extends EventSubject> = Omit<
  MessageInitShape<(typeof eventCatalog)[S]>,
  "eventId" | "occurredAt" | "$typeName"
>;

/** An event ready for the outbox: written in the transaction of the change it announces (outbox-store.ts). */
export type OutboxRow = Insertable<OutboxTable>;

/**
 * Builds the outbox row of one event, typed by the catalog: the subject decides the message type, so
 * a builder cannot put a Login on auth.logout. Building apart from writing lets an RPC that announces
 * several things write them in one round trip, even in the same statement as its change.
 * `now` is the transaction's time: the event's occurred_at is the time the change was made.
 */
export function outboxRow<S extends EventSubject>(now: Date, subject: S, data: EventData<S>): OutboxRow {
  const schema: DescMessage = eventCatalog[subject];
  const id = randomUUID();
  const message = create(schema, {
    ...data,
    eventId: id,
    occurredAt: timestampFromDate(now),
  } as MessageInitShape<DescMessage>);
  return {
    id,
    subject,
    event_type: schema.typeName,
    payload: toBinary(schema, message),
    created_at: now,
    last_error: null,
  };
}
