import { randomUUID } from "node:crypto";
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Insertable } from "kysely";
import { eventCatalog, type EventSubject } from "../../shared/events/catalog.js";
import type { EventData } from "../../shared/events/emit.js";
import type { OutboxTable } from "../../shared/outbox/outbox-table.js";

/** An event ready for the outbox: written by the store in the same statement as the change it announces. */
export type OutboxRow = Insertable<OutboxTable>;

/**
 * Builds the outbox row of one event (what shared/events/emit.ts records, without the insert), so
 * an RPC that announces several things writes them in one round trip together with its change.
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
