import { randomUUID } from "node:crypto";
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Kysely } from "kysely";
import type { Clock } from "../clock.js";
import { outboxView, type OutboxDatabase } from "./outbox-table.js";

/** Every event message begins with these two fields (see proto/mintcoin/events/v1). */
type EventEnvelope = "eventId" | "occurredAt";

export interface EventToRecord<Desc extends DescMessage> {
  subject: string;
  schema: Desc;
  data: Omit<MessageInitShape<Desc>, EventEnvelope>;
}

/**
 * Writes an event to the outbox. Call it with the same transaction as the change it announces:
 * the change and its event commit together or not at all, and the relay publishes it later.
 * Returns the event id.
 */
export async function recordEvent<DB extends OutboxDatabase, Desc extends DescMessage>(
  db: Kysely<DB>,
  clock: Clock,
  event: EventToRecord<Desc>,
): Promise<string> {
  const id = randomUUID();
  const now = clock.now();
  const message = create(event.schema, {
    ...event.data,
    eventId: id,
    occurredAt: timestampFromDate(now),
  } as unknown as MessageInitShape<Desc>);
  await outboxView(db)
    .insertInto("outbox")
    .values({
      id,
      subject: event.subject,
      event_type: event.schema.typeName,
      payload: toBinary(event.schema, message),
      created_at: now,
      last_error: null,
    })
    .execute();
  return id;
}
