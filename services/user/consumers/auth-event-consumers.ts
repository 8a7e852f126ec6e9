import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { IdentifierType } from "../../../gen/mintcoin/auth/v1/auth_pb.js";
import { startDurableConsumer, type DurableConsumer } from "../../shared/events/durable-consumer.js";
import type { NatsLink } from "../../shared/events/nats-link.js";
import { streams } from "../../shared/events/streams.js";
import type { IdentifierType as DomainIdentifierType } from "../../shared/identifiers.js";
import type { Logger } from "../../shared/logging.js";
import type { ActivityTracker } from "../domain/activity.js";
import type { IdentitySync } from "../domain/identity-sync.js";

export interface AuthEventConsumerDeps {
  nats: NatsLink;
  logger: Logger;
  identity: IdentitySync;
  activity: ActivityTracker;
}

/** What auth.user.registered, auth.identifier.linked and auth.identifier.replaced have in common. */
interface VerifiedIdentifierEvent {
  eventId: string;
  occurredAt?: Timestamp;
  userId: string;
  identifierType: IdentifierType;
  identifier: string;
}

/** Durable name prefix of the user service's consumers of AUTH_EVENTS (shared by its instances). */
export const userServiceConsumerName = "user-service";

/**
 * The user service's reactions to the auth service: verified identifiers (registered, linked or
 * replacing an earlier one) reach the profile, and sign-ins and refreshes count as activity. Both
 * reactions are idempotent and order-proof (see IdentitySync and ActivityTracker), so a redelivery
 * or a late event changes nothing more.
 */
export function startAuthEventConsumers(deps: AuthEventConsumerDeps): DurableConsumer {
  const { identity, activity } = deps;
  const time = (timestamp: Timestamp | undefined) => (timestamp ? timestampDate(timestamp) : new Date());
  /** Each of these events announces one identifier the auth service verified for the user. */
  async function recordVerified(event: VerifiedIdentifierEvent): Promise<void> {
    const type = identifierType(event.identifierType);
    if (!type) return;
    await identity.recordVerifiedIdentifier({
      userId: event.userId,
      type,
      value: event.identifier,
      verifiedAt: time(event.occurredAt),
      eventId: event.eventId,
    });
  }
  return startDurableConsumer({
    nats: deps.nats,
    logger: deps.logger,
    stream: streams.auth.name,
    name: userServiceConsumerName,
    handlers: {
      "auth.identifier.linked": recordVerified,
      // The replaced identifier is the user's newest of its type: it takes the old one's place on the
      // profile (IdentitySync keeps one per user and type, the newest winning).
      "auth.identifier.replaced": recordVerified,
      "auth.user.registered": recordVerified,
      "auth.login": async (event) => activity.touch(event.userId, time(event.occurredAt)),
      "auth.session.refreshed": async (event) => activity.touch(event.userId, time(event.occurredAt)),
    },
  });
}

function identifierType(type: IdentifierType): DomainIdentifierType | undefined {
  if (type === IdentifierType.PHONE) return "phone";
  if (type === IdentifierType.EMAIL) return "email";
  return undefined;
}
