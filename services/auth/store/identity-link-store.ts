import type { Kysely } from "kysely";
import type { AuthDatabase } from "./schema.js";

export type LinkOutcome = "linked" | "already_yours" | "taken" | "type_taken";

/**
 * Gives `identifier` to `userId` unless a unique constraint says no: the identifier is someone's
 * (primary key) or the user holds another identifier of that type (identities_one_per_type). A
 * concurrent link of the same identifier makes the insert wait for the other and then do nothing;
 * the follow-up read, a statement of its own, sees what the other committed.
 */
export async function linkIdentity(
  db: Kysely<AuthDatabase>,
  link: { userId: string; identifier: string; identifierType: string; now: Date },
): Promise<LinkOutcome> {
  const inserted = await db
    .insertInto("identities")
    .values({
      identifier: link.identifier,
      identifier_type: link.identifierType,
      user_id: link.userId,
      created_at: link.now,
    })
    .onConflict((oc) => oc.doNothing())
    .returning("user_id")
    .executeTakeFirst();
  if (inserted) return "linked";
  const holder = await db
    .selectFrom("identities")
    .select("user_id")
    .where("identifier", "=", link.identifier)
    .executeTakeFirst();
  if (holder) return holder.user_id === link.userId ? "already_yours" : "taken";
  return "type_taken";
}
