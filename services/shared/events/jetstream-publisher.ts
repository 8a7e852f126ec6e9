import { headers, type MsgHdrs } from "@nats-io/transport-node";
import type { OutboxMessage, OutboxPublisher } from "../outbox/relay.js";
import type { JetStreamPublish } from "./pipelined-publish.js";

/** The header naming the protobuf type of the payload, e.g. mintcoin.events.v1.Login. */
export const eventTypeHeader = "Event-Type";

/** The headers of every message the services publish: a protobuf payload, and its type by name. */
export function eventHeaders(eventType: string): MsgHdrs {
  const h = headers();
  h.set("Content-Type", "application/protobuf");
  h.set(eventTypeHeader, eventType);
  return h;
}

/**
 * Publishes outbox rows to JetStream: protobuf payload, `Nats-Msg-Id` = event id (so a re-publish
 * inside the stream's duplicate window is dropped), content type and event type headers.
 */
export function createJetStreamPublisher(publish: JetStreamPublish, timeoutMs = 5_000): OutboxPublisher {
  return {
    publish(message: OutboxMessage) {
      const headers = eventHeaders(message.event_type);
      return publish(message.subject, message.payload, { msgId: message.id, headers, timeoutMs });
    },
  };
}
