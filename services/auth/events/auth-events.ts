import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { IdentifierType } from "../../shared/identifiers.js";
import { outboxRow, type OutboxRow } from "../../shared/outbox/outbox-rows.js";
import type { OtpPurpose } from "../domain/otp-purpose.js";
import { identifierTypeToProto, otpPurposeToProto } from "../wire.js";

// The one-time-code events, built from domain values as outbox rows that the store writes with the
// change they announce. No event carries a code, a token or a hash of one.

export function otpSentEvent(
  now: Date,
  event: {
    otpId: string;
    userId: string | null;
    identifierType: IdentifierType;
    identifier: string;
    purpose: OtpPurpose;
    deviceId: string;
    ip: string;
    userAgent: string;
    expiresAt: Date;
  },
): OutboxRow {
  return outboxRow(now, "auth.otp.sent", {
    otpId: event.otpId,
    userId: event.userId ?? "",
    identifierType: identifierTypeToProto(event.identifierType),
    identifier: event.identifier,
    purpose: otpPurposeToProto(event.purpose),
    deviceId: event.deviceId,
    ipAddress: event.ip,
    userAgent: event.userAgent,
    expiresAt: timestampFromDate(event.expiresAt),
  });
}

export function otpVerifiedEvent(
  now: Date,
  event: {
    otpId: string;
    userId: string | null;
    identifierType: IdentifierType;
    identifier: string;
    purpose: OtpPurpose;
    attempts: number;
    ip: string;
    userAgent: string;
  },
): OutboxRow {
  return outboxRow(now, "auth.otp.verified", {
    otpId: event.otpId,
    userId: event.userId ?? "",
    identifierType: identifierTypeToProto(event.identifierType),
    identifier: event.identifier,
    purpose: otpPurposeToProto(event.purpose),
    attempts: event.attempts,
    ipAddress: event.ip,
    userAgent: event.userAgent,
  });
}
