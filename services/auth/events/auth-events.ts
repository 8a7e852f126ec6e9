import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Kysely } from "kysely";
import type { Clock } from "../../shared/clock.js";
import { emitEvent } from "../../shared/events/emit.js";
import type { IdentifierType } from "../domain/identifiers.js";
import type { OtpPurpose } from "../domain/otp-purpose.js";
import { identifierTypeToProto, otpPurposeToProto } from "../handlers/convert.js";
import type { AuthDatabase } from "../store/schema.js";
import { outboxRow, type OutboxRow } from "./outbox-rows.js";

// The auth service's events, built from domain values. Each function records one event in the
// outbox inside the caller's transaction. No event carries a code, a token or a hash of one.

export function recordOtpSent(
  db: Kysely<AuthDatabase>,
  clock: Clock,
  event: {
    otpId: string;
    identifierType: IdentifierType;
    identifier: string;
    purpose: OtpPurpose;
    deviceId: string;
    ip: string;
    userAgent: string;
    expiresAt: Date;
  },
): Promise<string> {
  return emitEvent(db, clock, "auth.otp.sent", {
    otpId: event.otpId,
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
