import type { IdentifierType } from "../../shared/identifiers.js";
import { outboxRow, type OutboxRow } from "../../shared/outbox/outbox-rows.js";
import type { RequestOrigin } from "../domain/request-origin.js";
import { identifierTypeToProto } from "../wire.js";

/** auth.identifier.linked: the user service marks the identifier verified on the profile. */
export function identifierLinkedEvent(
  now: Date,
  facts: RequestOrigin & { userId: string; identifierType: IdentifierType; identifier: string; deviceId: string },
): OutboxRow {
  return outboxRow(now, "auth.identifier.linked", {
    userId: facts.userId,
    identifierType: identifierTypeToProto(facts.identifierType),
    identifier: facts.identifier,
    deviceId: facts.deviceId,
    ipAddress: facts.ip,
    userAgent: facts.userAgent,
  });
}

/**
 * auth.identifier.replaced: the user's phone or email is now `identifier`; `previousIdentifier` was
 * released. The user service puts the new one on the profile, verified.
 */
export function identifierReplacedEvent(
  now: Date,
  facts: RequestOrigin & {
    userId: string;
    identifierType: IdentifierType;
    identifier: string;
    previousIdentifier: string;
    deviceId: string;
  },
): OutboxRow {
  return outboxRow(now, "auth.identifier.replaced", {
    userId: facts.userId,
    identifierType: identifierTypeToProto(facts.identifierType),
    identifier: facts.identifier,
    previousIdentifier: facts.previousIdentifier,
    deviceId: facts.deviceId,
    ipAddress: facts.ip,
    userAgent: facts.userAgent,
  });
}
