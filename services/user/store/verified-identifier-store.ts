import { sql, type Kysely } from "kysely";
import type { IdentifierType } from "../../shared/identifiers.js";
import type { UserDatabase } from "./schema.js";

export interface VerifiedIdentifier {
  type: IdentifierType;
  value: string;
  verifiedAt: Date;
}

/**
 * Keeps the newest verified identifier of each type per user. Returns true when this one was newer
 * than what was kept (or the first): a replayed or out-of-order older event changes nothing.
 */
export async function keepVerifiedIdentifier(
  db: Kysely<UserDatabase>,
  userId: string,
  identifier: VerifiedIdentifier,
  eventId: string,
): Promise<boolean> {
  const result = await db
    .insertInto("verified_identifiers")
    .values({
      user_id: userId,
      identifier_type: identifier.type,
      identifier: identifier.value,
      verified_at: identifier.verifiedAt,
      event_id: eventId,
    })
    .onConflict((oc) =>
      oc
        .columns(["user_id", "identifier_type"])
        .doUpdateSet({
          identifier: (eb) => eb.ref("excluded.identifier"),
          verified_at: (eb) => eb.ref("excluded.verified_at"),
          event_id: (eb) => eb.ref("excluded.event_id"),
        })
        // Equal times: the larger event id wins, so two events of one instant settle the same way
        // in whatever order they arrive.
        .where(
          sql<boolean>`(excluded.verified_at, excluded.event_id) > (verified_identifiers.verified_at, verified_identifiers.event_id)`,
        ),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function listVerifiedIdentifiers(db: Kysely<UserDatabase>, userId: string): Promise<VerifiedIdentifier[]> {
  const rows = await db
    .selectFrom("verified_identifiers")
    .select(["identifier_type", "identifier", "verified_at"])
    .where("user_id", "=", userId)
    .execute();
  return rows.map((row) => ({
    type: row.identifier_type as IdentifierType,
    value: row.identifier,
    verifiedAt: row.verified_at,
  }));
}
