import { outboxRow, type OutboxRow } from "../../shared/outbox/outbox-rows.js";
import type { RequestOrigin } from "../domain/request-origin.js";

// Events of a user managing their devices (TrustDevice, BlockDevice, UnblockDevice). Each is
// recorded only when the call changed something, so a repeated call announces nothing twice.

export interface DeviceEventFacts extends RequestOrigin {
  userId: string;
  deviceId: string;
}

export function deviceTrustedEvent(now: Date, facts: DeviceEventFacts): OutboxRow {
  return outboxRow(now, "auth.device.trusted", {
    userId: facts.userId,
    deviceId: facts.deviceId,
    ipAddress: facts.ip,
    userAgent: facts.userAgent,
  });
}

export function deviceBlockedEvent(
  now: Date,
  facts: DeviceEventFacts & { reason: string; revokedSessionIds: string[] },
): OutboxRow {
  return outboxRow(now, "auth.device.blocked", {
    userId: facts.userId,
    deviceId: facts.deviceId,
    reason: facts.reason,
    revokedSessionIds: facts.revokedSessionIds,
    ipAddress: facts.ip,
    userAgent: facts.userAgent,
  });
}

export function deviceUnblockedEvent(now: Date, facts: DeviceEventFacts): OutboxRow {
  return outboxRow(now, "auth.device.unblocked", {
    userId: facts.userId,
    deviceId: facts.deviceId,
    ipAddress: facts.ip,
    userAgent: facts.userAgent,
  });
}
