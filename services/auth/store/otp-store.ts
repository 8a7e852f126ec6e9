import type { Kysely } from "kysely";
import type { OutboxRow } from "../events/outbox-rows.js";
import type { AuthDatabase } from "./schema.js";

export interface NewOtpCode {
  id: string;
  identifier: string;
  identifierType: string;
  purpose: string;
  codeHash: Uint8Array;
  createdAt: Date;
  expiresAt: Date;
  deviceId: string | null;
  ipAddress: string | null;
}

/** Stores a code and its events in one statement. */
export async function insertOtpCode(db: Kysely<AuthDatabase>, code: NewOtpCode, events: OutboxRow[]): Promise<void> {
  await db
    .with("code", (qb) =>
      qb.insertInto("otp_codes").values({
        id: code.id,
        identifier: code.identifier,
        identifier_type: code.identifierType,
        purpose: code.purpose,
        code_hash: code.codeHash,
        created_at: code.createdAt,
        expires_at: code.expiresAt,
        closed_at: null,
        device_id: code.deviceId,
        ip_address: code.ipAddress,
      }),
    )
    .insertInto("outbox")
    .values(events)
    .execute();
}

/**
 * Closes every open code for this identifier and purpose (only the newest code works) and, in the
 * same round trip, returns the user holding the identifier, if anyone does (for auth.otp.sent).
 */
export async function closeOpenCodesAndFindHolder(
  db: Kysely<AuthDatabase>,
  identifier: string,
  purpose: string,
  now: Date,
): Promise<string | null> {
  const row = await db
    .with("closed", (qb) =>
      qb
        .updateTable("otp_codes")
        .set({ closed_at: now })
        .where("identifier", "=", identifier)
        .where("purpose", "=", purpose)
        .where("closed_at", "is", null),
    )
    .selectNoFrom((eb) => eb.selectFrom("identities").select("user_id").where("identifier", "=", identifier).as("user_id"))
    .executeTakeFirst();
  return row?.user_id ?? null;
}
