import { sql, type Kysely } from "kysely";
import type { AuthDatabase } from "./schema.js";

// Verification tokens presented to the account RPCs (SetPassword, ResetPassword, LinkIdentifier).
// Login's own consumption lives in verification-token-store.ts.

export interface VerificationProof {
  identifier: string;
  identifierType: string;
  purpose: string;
  /** The user holding the identifier, if anyone does. */
  holderUserId: string | null;
  /** Since when that user holds it. */
  heldSince: Date | null;
}

/**
 * Reads a live token of one of `purposes` without using it up. For the RPCs that hash a password:
 * they look first, so a made-up token costs one index lookup instead of an argon2 hash.
 */
export async function peekVerificationToken(
  db: Kysely<AuthDatabase>,
  tokenHash: Uint8Array,
  purposes: readonly string[],
  now: Date,
): Promise<VerificationProof | undefined> {
  const row = await db
    .selectFrom("verification_tokens as t")
    .leftJoin("identities as i", "i.identifier", "t.identifier")
    .select(["t.identifier", "t.identifier_type", "t.purpose", "i.user_id", "i.created_at"])
    .where("t.token_hash", "=", tokenHash)
    .where("t.purpose", "in", purposes)
    .where("t.expires_at", ">", now)
    .executeTakeFirst();
  return (
    row && {
      identifier: row.identifier,
      identifierType: row.identifier_type,
      purpose: row.purpose,
      holderUserId: row.user_id,
      heldSince: row.created_at,
    }
  );
}

/**
 * Uses up a live token of one of `purposes` and returns it with the user holding its identifier;
 * undefined when it is unknown, expired, used or of another purpose (then it is left alone). The
 * delete locks the row, so of two concurrent uses exactly one gets it.
 */
export async function consumeVerificationProof(
  db: Kysely<AuthDatabase>,
  tokenHash: Uint8Array,
  purposes: readonly string[],
  now: Date,
): Promise<VerificationProof | undefined> {
  const { rows } = await sql<{
    identifier: string;
    identifier_type: string;
    purpose: string;
    user_id: string | null;
    created_at: Date | null;
  }>`
    with token as (
      delete from verification_tokens
      where token_hash = ${tokenHash} and purpose in (${sql.join(purposes)}) and expires_at > ${now}
      returning identifier, identifier_type, purpose
    )
    select token.identifier, token.identifier_type, token.purpose, i.user_id, i.created_at
    from token left join identities i on i.identifier = token.identifier`.execute(db);
  const row = rows[0];
  return (
    row && {
      identifier: row.identifier,
      identifierType: row.identifier_type,
      purpose: row.purpose,
      holderUserId: row.user_id,
      heldSince: row.created_at,
    }
  );
}
