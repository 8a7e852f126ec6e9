import type { Kysely, Selectable } from "kysely";
import type { DeviceFlags, UserDevice } from "../domain/devices.js";
import type { AuthDatabase, DevicesTable } from "./schema.js";

// The queries of the device RPCs (ListDevices, TrustDevice, BlockDevice, UnblockDevice). Sign-in's
// device statement lives in device-store.ts.

const deviceColumns = [
  "id",
  "device_id",
  "device_name",
  "device_type",
  "os_name",
  "os_version",
  "browser_name",
  "browser_version",
  "fingerprint",
  "trusted",
  "blocked",
  "blocked_reason",
  "last_ip",
  "last_used_at",
  "created_at",
] as const;

type DeviceRow = Pick<Selectable<DevicesTable>, (typeof deviceColumns)[number]>;

function toDevice(row: DeviceRow): UserDevice {
  return {
    id: row.id,
    deviceId: row.device_id,
    deviceName: row.device_name,
    deviceType: row.device_type,
    osName: row.os_name,
    osVersion: row.os_version,
    browserName: row.browser_name,
    browserVersion: row.browser_version,
    fingerprint: row.fingerprint,
    trusted: row.trusted,
    blocked: row.blocked,
    blockedReason: row.blocked_reason,
    lastIp: row.last_ip,
    lastUsedAt: row.last_used_at,
    createdAt: row.created_at,
  };
}

/** The user's devices, most recently used first. */
export async function listUserDevices(db: Kysely<AuthDatabase>, userId: string): Promise<UserDevice[]> {
  const rows = await db
    .selectFrom("devices")
    .select(deviceColumns)
    .where("user_id", "=", userId)
    .orderBy("last_used_at", "desc")
    .orderBy("created_at", "desc")
    .execute();
  return rows.map(toDevice);
}

/**
 * One of the user's devices, locked until the transaction ends: a sign-in on it (whose device
 * upsert takes the same row lock) waits for the change and then sees it.
 */
export async function lockUserDevice(
  db: Kysely<AuthDatabase>,
  userId: string,
  deviceId: string,
): Promise<UserDevice | undefined> {
  const row = await db
    .selectFrom("devices")
    .select(deviceColumns)
    .where("user_id", "=", userId)
    .where("device_id", "=", deviceId)
    .forUpdate()
    .executeTakeFirst();
  return row && toDevice(row);
}

/** Sets a device's trusted and blocked flags. */
export async function setDeviceFlags(
  db: Kysely<AuthDatabase>,
  deviceRecordId: string,
  flags: DeviceFlags,
): Promise<void> {
  await db
    .updateTable("devices")
    .set({
      trusted: flags.trusted,
      blocked: flags.blocked,
      blocked_reason: flags.blockedReason,
      blocked_at: flags.blockedAt,
    })
    .where("id", "=", deviceRecordId)
    .execute();
}

export interface SessionStanding {
  /** The session's device is trusted. */
  deviceTrusted: boolean;
  /** The session's last step-up (StepUp), null when it has none. */
  steppedUpAt: Date | null;
}

/** What TrustDevice needs to know about the calling session: is its device trusted, did it step up. */
export async function readSessionStanding(
  db: Kysely<AuthDatabase>,
  sessionId: string,
): Promise<SessionStanding | undefined> {
  const row = await db
    .selectFrom("sessions as s")
    .innerJoin("devices as d", "d.id", "s.device_record_id")
    .select(["d.trusted", "s.stepped_up_at"])
    .where("s.id", "=", sessionId)
    .executeTakeFirst();
  return row && { deviceTrusted: row.trusted, steppedUpAt: row.stepped_up_at };
}
