import type { Kysely } from "kysely";
import {
  isRecentAuthentication,
  requireRecentAuthentication,
  StepUpRequiredError,
} from "../../shared/auth/recent-authentication.js";
import type { Clock } from "../../shared/clock.js";
import { FailedPreconditionError, NotFoundError } from "../../shared/errors/domain-errors.js";
import { insertOutboxRows } from "../../shared/outbox/outbox-store.js";
import type { Transact } from "../../shared/outbox/transact.js";
import { deviceBlockedEvent, deviceTrustedEvent, deviceUnblockedEvent } from "../events/device-events.js";
import {
  listUserDevices,
  lockUserDevice,
  readSessionStanding,
  setDeviceFlags,
} from "../store/device-management-store.js";
import type { AuthDatabase } from "../store/schema.js";
import type { DeviceFlags, UserDevice } from "./devices.js";
import type { RequestOrigin } from "./request-origin.js";
import type { SessionRevoker } from "./session-revocation.js";

/**
 * The signed-in caller of a device RPC: whose devices, which one the call comes from, and the
 * session's last active authentication (`auth_time`): trusting, blocking and unblocking are
 * sensitive actions.
 */
export interface DeviceCaller extends RequestOrigin {
  userId: string;
  /** Device id of the calling session (the access token's `did`). */
  deviceId: string;
  authTime: Date | undefined;
}

/** The caller of TrustDevice: also which session. */
export interface TrustingCaller extends DeviceCaller {
  sessionId: string;
}

export interface BlockDeviceResult {
  device: UserDevice;
  revokedSessionCount: number;
}

export type DeviceService = ReturnType<typeof createDeviceService>;

const notFound = () => new NotFoundError("you have no device with this id", "DEVICE_NOT_FOUND");

/**
 * The user's own device management. Each change locks the device row first (as sign-in's device
 * upsert does) and then, for a block, the device's sessions: the same order as every other writer,
 * so a block and a sign-in or refresh on the device never deadlock, and a sign-in that waited on the
 * lock sees the block. A call that changes nothing records nothing.
 */
export function createDeviceService(deps: {
  db: Kysely<AuthDatabase>;
  transact: Transact<AuthDatabase>;
  revoker: SessionRevoker;
  clock: Clock;
  stepUpMaxAgeSeconds: number;
}) {
  function list(userId: string): Promise<UserDevice[]> {
    return listUserDevices(deps.db, userId);
  }

  /**
   * Trust is earned: a sensitive action (recent authentication), from a session whose device is
   * trusted already or that stepped up within the window. A sign-in on an untrusted device proves
   * the identifier, not the device, so by itself it cannot make that device (or another) trusted.
   */
  function trust(caller: TrustingCaller, deviceId: string): Promise<UserDevice> {
    const maxAgeSeconds = deps.stepUpMaxAgeSeconds;
    requireRecentAuthentication(caller, { maxAgeSeconds, now: deps.clock.now() });
    return deps.transact(async (trx) => {
      const device = await lockUserDevice(trx, caller.userId, deviceId);
      if (!device) throw notFound();
      if (device.blocked)
        throw new FailedPreconditionError("this device is blocked; unblock it before trusting it", "DEVICE_BLOCKED");
      if (device.trusted) return device;
      const now = deps.clock.now();
      const standing = await readSessionStanding(trx, caller.sessionId);
      if (!standing?.deviceTrusted && !isRecentAuthentication(standing?.steppedUpAt ?? undefined, maxAgeSeconds, now)) {
        throw new StepUpRequiredError(
          maxAgeSeconds,
          "only a trusted device, or a session that stepped up (AuthService.StepUp) in the last " +
            `${maxAgeSeconds} s, can trust a device; signing in on this device is not enough`,
        );
      }
      const flags: DeviceFlags = { trusted: true, blocked: false, blockedReason: "", blockedAt: null };
      await setDeviceFlags(trx, device.id, flags);
      await insertOutboxRows(trx, [deviceTrustedEvent(now, { ...caller, deviceId })]);
      return { ...device, ...flags };
    });
  }

  /**
   * Blocks a device and revokes its sessions; an already blocked device keeps its first reason. A
   * sensitive action: a sign-in held for step-up must not lock the owner's own devices out.
   */
  function block(caller: DeviceCaller, deviceId: string, reason: string): Promise<BlockDeviceResult> {
    requireRecentAuthentication(caller, { maxAgeSeconds: deps.stepUpMaxAgeSeconds, now: deps.clock.now() });
    return deps.transact(async (trx) => {
      const device = await lockUserDevice(trx, caller.userId, deviceId);
      if (!device) throw notFound();
      if (device.deviceId === caller.deviceId) {
        throw new FailedPreconditionError(
          "this is the device of the calling session; block it from another device, or log out",
          "DEVICE_IS_CURRENT",
        );
      }
      if (device.blocked) return { device, revokedSessionCount: 0 };
      const now = deps.clock.now();
      // A blocked device loses its trust too: unblocking brings it back as a stranger.
      const flags: DeviceFlags = { trusted: false, blocked: true, blockedReason: reason, blockedAt: now };
      await setDeviceFlags(trx, device.id, flags);
      const revoked = await deps.revoker.revokeSessions(
        trx,
        now,
        { userId: caller.userId, deviceRecordId: device.id },
        "device_blocked",
        {
          revokedByUserId: caller.userId,
          ip: caller.ip,
          userAgent: caller.userAgent,
        },
      );
      await insertOutboxRows(trx, [
        deviceBlockedEvent(now, {
          ...caller,
          deviceId,
          reason,
          revokedSessionIds: revoked.map((session) => session.sessionId),
        }),
      ]);
      return { device: { ...device, ...flags }, revokedSessionCount: revoked.length };
    });
  }

  /** Unblocks a device; it comes back untrusted. A sensitive action, as blocking is. */
  function unblock(caller: DeviceCaller, deviceId: string): Promise<UserDevice> {
    requireRecentAuthentication(caller, { maxAgeSeconds: deps.stepUpMaxAgeSeconds, now: deps.clock.now() });
    return deps.transact(async (trx) => {
      const device = await lockUserDevice(trx, caller.userId, deviceId);
      if (!device) throw notFound();
      if (!device.blocked) return device;
      const now = deps.clock.now();
      const flags: DeviceFlags = { trusted: false, blocked: false, blockedReason: "", blockedAt: null };
      await setDeviceFlags(trx, device.id, flags);
      await insertOutboxRows(trx, [deviceUnblockedEvent(now, { ...caller, deviceId })]);
      return { ...device, ...flags };
    });
  }

  return { list, trust, block, unblock };
}
