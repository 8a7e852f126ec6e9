import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Caller } from "./login-events.js";
import { outboxRow, type OutboxRow } from "./outbox-rows.js";

// Events of a session's life, built from domain values. None carries a token or a hash of one.

export interface SessionFacts extends Caller {
  userId: string;
  sessionId: string;
  deviceId: string;
}

export function sessionCreatedEvent(now: Date, facts: SessionFacts & { deviceName: string; expiresAt: Date }): OutboxRow {
  return outboxRow(now, "auth.session.created", {
    userId: facts.userId,
    sessionId: facts.sessionId,
    deviceId: facts.deviceId,
    deviceName: facts.deviceName,
    ipAddress: facts.ip,
    userAgent: facts.userAgent,
    expiresAt: timestampFromDate(facts.expiresAt),
  });
}
