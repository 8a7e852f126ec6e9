import { sql, type Kysely } from "kysely";
import type { AuthDatabase } from "./schema.js";
import { userGateSharedLock } from "./user-gate-store.js";

export interface ConsumedVerification {
  otpId: string;
  identifier: string;
  identifierType: string;
  purpose: string;
  priorFailures: number;
}

export interface LoginIdentity extends ConsumedVerification {
  userId: string;
  newUser: boolean;
  /** The statement took the user's gate, shared (user-gate-store.ts); false on the rare race path. */
  userGateHeld: boolean;
  /** The user's identifiers, read by the same statement; undefined on the rare race path. */
  identifiers: Array<{ type: string; identifier: string }> | undefined;
}

/**
 * Login's first statement: uses up a LOGIN verification token and finds the user holding its
 * identifier, minting `newUserId` for an identifier nobody holds, and takes the user's gate shared
 * (the sign-in's next statement reads restrictions with a snapshot taken after it). Two sign-ins
 * racing to register one identifier: the insert makes one wait for the other and do nothing, and
 * that one reads the winner's user id in a second statement (its first could not see a row
 * committed after it began), without the gate (userGateHeld false).
 */
export async function consumeLoginToken(
  db: Kysely<AuthDatabase>,
  tokenHash: Uint8Array,
  newUserId: string,
  now: Date,
): Promise<LoginIdentity | undefined> {
  const { rows } = await sql<{
    otp_id: string;
    identifier: string;
    identifier_type: string;
    purpose: string;
    prior_failures: number;
    user_id: string | null;
    new_user: boolean;
    gate: unknown;
    identifiers: Array<{ type: string; identifier: string }>;
  }>`
    with token as (
      delete from verification_tokens
      where token_hash = ${tokenHash} and purpose = 'login' and expires_at > ${now}
      returning otp_id, identifier, identifier_type, purpose, prior_failures
    ), minted as (
      insert into identities (identifier, identifier_type, user_id, created_at)
      select identifier, identifier_type, ${newUserId}, ${now} from token
      on conflict (identifier) do nothing
      returning user_id
    )
    select token.*, coalesce(minted.user_id, existing.user_id) as user_id, minted.user_id is not null as new_user,
      ${userGateSharedLock(sql`coalesce(minted.user_id, existing.user_id)`)} as gate,
      (select coalesce(json_agg(json_build_object('type', i.identifier_type, 'identifier', i.identifier)), '[]'::json)
        from identities i where i.user_id = existing.user_id) as identifiers
    from token
    left join minted on true
    left join identities existing on existing.identifier = token.identifier`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const userId =
    row.user_id ??
    (
      await db
        .selectFrom("identities")
        .select("user_id")
        .where("identifier", "=", row.identifier)
        .executeTakeFirstOrThrow()
    ).user_id;
  return {
    otpId: row.otp_id,
    identifier: row.identifier,
    identifierType: row.identifier_type,
    purpose: row.purpose,
    priorFailures: row.prior_failures,
    userId,
    newUser: row.new_user,
    userGateHeld: row.user_id !== null,
    // A user minted here holds the one identifier (the statement cannot see its own insert).
    identifiers:
      row.user_id === null
        ? undefined
        : row.new_user
          ? [{ type: row.identifier_type, identifier: row.identifier }]
          : row.identifiers,
  };
}
