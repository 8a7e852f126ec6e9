import { outboxRow, type OutboxRow } from "../../shared/outbox/outbox-rows.js";

// Events of an operator managing service accounts. None carries the secret or its hash.

export interface ServiceAccountEventFacts {
  clientId: string;
  name: string;
  /** Who ran the command, as `user@host`: an audit hint, not an authenticated identity. */
  operator: string;
}

export function serviceAccountCreatedEvent(
  now: Date,
  facts: ServiceAccountEventFacts & { scopes: string[] },
): OutboxRow {
  return outboxRow(now, "auth.service_account.created", {
    clientId: facts.clientId,
    name: facts.name,
    scopes: facts.scopes,
    operator: facts.operator,
  });
}

export function serviceAccountSecretRotatedEvent(now: Date, facts: ServiceAccountEventFacts): OutboxRow {
  return outboxRow(now, "auth.service_account.secret_rotated", {
    clientId: facts.clientId,
    name: facts.name,
    operator: facts.operator,
  });
}

export function serviceAccountDisabledEvent(now: Date, facts: ServiceAccountEventFacts): OutboxRow {
  return outboxRow(now, "auth.service_account.disabled", {
    clientId: facts.clientId,
    name: facts.name,
    operator: facts.operator,
  });
}
