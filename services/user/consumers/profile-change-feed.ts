import { fromBinary } from "@bufbuild/protobuf";
import { DeliverPolicy } from "@nats-io/jetstream";
import { schemaForSubject } from "../../shared/events/catalog.js";
import type { NatsLink } from "../../shared/events/nats-link.js";
import { followStream, type StreamFollower } from "../../shared/events/stream-follower.js";
import { streams } from "../../shared/events/streams.js";
import type { Logger } from "../../shared/logging.js";
import type { ProfileCache } from "../domain/profile-cache.js";

/**
 * Tells this instance's profile cache about every profile change made through any instance: each
 * user.* event (all of them carry the user's id) drops that user's entry. It starts at the newest
 * event (the cache starts empty), and while it is interrupted the cache serves nothing and is
 * emptied, since changes may be missed.
 */
export function followProfileChanges(deps: { nats: NatsLink; logger: Logger; cache: ProfileCache }): StreamFollower {
  const { cache } = deps;
  return followStream({
    nats: deps.nats,
    logger: deps.logger,
    stream: streams.user.name,
    subject: "user.>",
    name: "profile change feed",
    startAt: () => ({ deliver_policy: DeliverPolicy.New }),
    onMessage(message) {
      const userId = userIdOf(message.subject, message.data);
      // An event we cannot place could concern anyone: everything goes.
      if (userId) cache.invalidate(userId);
      else cache.clear();
    },
    onInterrupted: () => cache.clear(),
    onReset: () => cache.clear(),
  });
}

function userIdOf(subject: string, data: Uint8Array): string | undefined {
  const schema = schemaForSubject(subject);
  if (!schema) return undefined;
  try {
    const { userId } = fromBinary(schema, data) as { userId?: unknown };
    return typeof userId === "string" && userId ? userId : undefined;
  } catch {
    return undefined;
  }
}
