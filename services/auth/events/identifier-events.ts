import type { IdentifierType } from "../domain/identifiers.js";
import { identifierTypeToProto } from "../handlers/convert.js";
import type { Caller } from "./login-events.js";
import { outboxRow, type OutboxRow } from "./outbox-rows.js";

/** auth.identifier.linked: the user service marks the identifier verified on the profile. */
export function identifierLinkedEvent(
  now: Date,
  facts: Caller & { userId: string; identifierType: IdentifierType; identifier: string; deviceId: string },
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
  facts: Caller & {
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
