import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { LoginMethod, SessionRevokeReason } from "../../../gen/mintcoin/events/v1/auth_events_pb.js";
import { outboxRow, type OutboxRow } from "../../shared/outbox/outbox-rows.js";
import type { RequestOrigin } from "../domain/request-origin.js";
import type { SessionRevokeReasonName, SignInMethod } from "../domain/sessions.js";

// Events of a session's life, built from domain values. None carries a token or a hash of one.

export interface SessionFacts extends RequestOrigin {
  userId: string;
  sessionId: string;
  deviceId: string;
}

export function sessionCreatedEvent(
  now: Date,
  facts: SessionFacts & { deviceName: string; expiresAt: Date },
): OutboxRow {
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

/** auth.session.stepped_up: the session proved again that the person is there (StepUp). */
export function sessionSteppedUpEvent(now: Date, facts: SessionFacts & { method: SignInMethod }): OutboxRow {
  return outboxRow(now, "auth.session.stepped_up", {
    userId: facts.userId,
    sessionId: facts.sessionId,
    deviceId: facts.deviceId,
    method: facts.method === "otp" ? LoginMethod.OTP : LoginMethod.PASSWORD,
    ipAddress: facts.ip,
    userAgent: facts.userAgent,
  });
}
const reasonCodes: Record<SessionRevokeReasonName, SessionRevokeReason> = {
  logout: SessionRevokeReason.LOGOUT,
  user_revoked: SessionRevokeReason.USER_REVOKED,
  revoke_all: SessionRevokeReason.REVOKE_ALL,
  refresh_token_reuse: SessionRevokeReason.REFRESH_TOKEN_REUSE,
  device_blocked: SessionRevokeReason.DEVICE_BLOCKED,
  password_reset: SessionRevokeReason.PASSWORD_RESET,
  user_suspended: SessionRevokeReason.USER_SUSPENDED,
  user_banned: SessionRevokeReason.USER_BANNED,
  user_deleted: SessionRevokeReason.USER_DELETED,
};

export function sessionRevokedEvent(
  now: Date,
  facts: SessionFacts & { reason: SessionRevokeReasonName; revokedByUserId: string | null; tokensExpireAt: Date },
): OutboxRow {
  return outboxRow(now, "auth.session.revoked", {
    userId: facts.userId,
    sessionId: facts.sessionId,
    deviceId: facts.deviceId,
    reason: facts.reason,
    reasonCode: reasonCodes[facts.reason],
    revokedByUserId: facts.revokedByUserId ?? "",
    tokensExpireAt: timestampFromDate(facts.tokensExpireAt),
    ipAddress: facts.ip,
    userAgent: facts.userAgent,
  });
}

export function sessionRefreshedEvent(now: Date, facts: SessionFacts & { expiresAt: Date }): OutboxRow {
  return outboxRow(now, "auth.session.refreshed", {
    userId: facts.userId,
    sessionId: facts.sessionId,
    deviceId: facts.deviceId,
    ipAddress: facts.ip,
    userAgent: facts.userAgent,
    expiresAt: timestampFromDate(facts.expiresAt),
  });
}

export function logoutEvent(now: Date, facts: SessionFacts): OutboxRow {
  return outboxRow(now, "auth.logout", {
    userId: facts.userId,
    sessionId: facts.sessionId,
    deviceId: facts.deviceId,
    ipAddress: facts.ip,
    userAgent: facts.userAgent,
  });
}
