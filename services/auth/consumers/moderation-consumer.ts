import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { startDurableConsumer, type DurableConsumer } from "../../shared/events/durable-consumer.js";
import type { NatsLink } from "../../shared/events/nats-link.js";
import { streams } from "../../shared/events/streams.js";
import type { Logger } from "../../shared/logging.js";
import type { ModerationReaction } from "../domain/moderation-reaction.js";

/** Durable name prefix of the auth service's consumers of USER_EVENTS (shared by its instances). */
export const authServiceConsumerName = "auth-service";

// An event without a time sorts before every event that has one.
const time = (timestamp: Timestamp | undefined) => (timestamp ? timestampDate(timestamp) : new Date(0));

/**
 * The auth service's reaction to the user service's moderation: suspensions, their end, bans and
 * deletions become restrictions on sign-in and refresh, and revoke the user's sessions
 * (ModerationReaction, idempotent and order-proof, so at-least-once delivery in any order is fine).
 */
export function startModerationConsumer(deps: {
  nats: NatsLink;
  logger: Logger;
  reaction: ModerationReaction;
}): DurableConsumer {
  const { reaction } = deps;
  return startDurableConsumer({
    nats: deps.nats,
    logger: deps.logger,
    stream: streams.user.name,
    name: authServiceConsumerName,
    handlers: {
      "user.suspended": (event) =>
        reaction.apply(
          { eventId: event.eventId, userId: event.userId, version: event.version, occurredAt: time(event.occurredAt) },
          { kind: "suspended", until: event.suspendedUntil ? timestampDate(event.suspendedUntil) : null },
        ),
      "user.unsuspended": (event) =>
        reaction.apply(
          { eventId: event.eventId, userId: event.userId, version: event.version, occurredAt: time(event.occurredAt) },
          { kind: "unsuspended" },
        ),
      "user.banned": (event) =>
        reaction.apply(
          { eventId: event.eventId, userId: event.userId, version: event.version, occurredAt: time(event.occurredAt) },
          { kind: "banned" },
        ),
      "user.deleted": (event) =>
        reaction.apply(
          { eventId: event.eventId, userId: event.userId, version: event.version, occurredAt: time(event.occurredAt) },
          { kind: "deleted" },
        ),
    },
  });
}
