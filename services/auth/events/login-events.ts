import { LoginMethod } from "../../../gen/mintcoin/events/v1/auth_events_pb.js";
import type { IdentifierType } from "../../shared/identifiers.js";
import { outboxRow, type OutboxRow } from "../../shared/outbox/outbox-rows.js";
import type { RequestOrigin } from "../domain/request-origin.js";
import type { SignInMethod } from "../domain/sessions.js";
import type { DeviceTraits } from "../domain/user-agent.js";
import { identifierTypeToProto } from "../wire.js";

// Events of a sign-in, built from domain values. None carries a code, a token or a hash of one.

export interface SignInEventFacts extends RequestOrigin {
  userId: string;
  sessionId: string;
  identifierType: IdentifierType;
  identifier: string;
  deviceId: string;
  deviceName: string;
}

export function userRegisteredEvent(now: Date, facts: SignInEventFacts): OutboxRow {
  return outboxRow(now, "auth.user.registered", {
    userId: facts.userId,
    identifierType: identifierTypeToProto(facts.identifierType),
    identifier: facts.identifier,
    sessionId: facts.sessionId,
    deviceId: facts.deviceId,
    ipAddress: facts.ip,
    userAgent: facts.userAgent,
  });
}

export function deviceRegisteredEvent(
  now: Date,
  facts: SignInEventFacts & { deviceRecordId: string; traits: DeviceTraits; fingerprint: string; trusted: boolean },
): OutboxRow {
  return outboxRow(now, "auth.device.registered", {
    userId: facts.userId,
    deviceRecordId: facts.deviceRecordId,
    deviceId: facts.deviceId,
    deviceName: facts.deviceName,
    deviceType: facts.traits.deviceType,
    osName: facts.traits.osName,
    osVersion: facts.traits.osVersion,
    browserName: facts.traits.browserName,
    browserVersion: facts.traits.browserVersion,
    fingerprint: facts.fingerprint,
    ipAddress: facts.ip,
    userAgent: facts.userAgent,
    trusted: facts.trusted,
  });
}

export function loginEvent(
  now: Date,
  facts: SignInEventFacts & {
    method: SignInMethod;
    newUser: boolean;
    newDevice: boolean;
    trustedDevice: boolean;
    suspiciousReasons: string[];
    stepUpRequired: boolean;
  },
): OutboxRow {
  return outboxRow(now, "auth.login", {
    userId: facts.userId,
    sessionId: facts.sessionId,
    method: facts.method === "otp" ? LoginMethod.OTP : LoginMethod.PASSWORD,
    identifierType: identifierTypeToProto(facts.identifierType),
    identifier: facts.identifier,
    deviceId: facts.deviceId,
    deviceName: facts.deviceName,
    ipAddress: facts.ip,
    userAgent: facts.userAgent,
    newUser: facts.newUser,
    newDevice: facts.newDevice,
    trustedDevice: facts.trustedDevice,
    suspicious: facts.suspiciousReasons.length > 0,
    suspiciousReasons: facts.suspiciousReasons,
    stepUpRequired: facts.stepUpRequired,
  });
}
