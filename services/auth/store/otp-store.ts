import type { Kysely } from "kysely";
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

export async function insertOtpCode(db: Kysely<AuthDatabase>, code: NewOtpCode): Promise<void> {
  await db
    .insertInto("otp_codes")
    .values({
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
    })
    .execute();
}

/** Closes every open code for this identifier and purpose: only the newest code works. */
export async function closeOpenOtpCodes(
  db: Kysely<AuthDatabase>,
  identifier: string,
  purpose: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable("otp_codes")
    .set({ closed_at: now })
    .where("identifier", "=", identifier)
    .where("purpose", "=", purpose)
    .where("closed_at", "is", null)
    .execute();
}
