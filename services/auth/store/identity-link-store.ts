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

export type ReplaceOutcome =
  | { kind: "replaced"; previous: string }
  | { kind: "unchanged" }
  | { kind: "not_held" }
  | { kind: "taken"; previous: string };

/**
 * Gives the user `identifier` in place of the identifier of that type they hold, which is released
 * (deleted: it belongs to nobody until someone proves it again). The user's identity of that type is
 * locked first, so two replacements of one user queue. "taken" means another account holds the new
 * identifier: the old one was deleted in this transaction, and the caller must roll it back.
 */
export async function replaceIdentity(
  db: Kysely<AuthDatabase>,
  replacement: { userId: string; identifier: string; identifierType: string; now: Date },
): Promise<ReplaceOutcome> {
  const current = await db
    .selectFrom("identities")
    .select("identifier")
    .where("user_id", "=", replacement.userId)
    .where("identifier_type", "=", replacement.identifierType)
    .forUpdate()
    .executeTakeFirst();
  if (!current) return { kind: "not_held" };
  if (current.identifier === replacement.identifier) return { kind: "unchanged" };
  await db.deleteFrom("identities").where("identifier", "=", current.identifier).execute();
  const inserted = await db
    .insertInto("identities")
    .values({
      identifier: replacement.identifier,
      identifier_type: replacement.identifierType,
      user_id: replacement.userId,
      created_at: replacement.now,
    })
    .onConflict((oc) => oc.doNothing())
    .returning("user_id")
    .executeTakeFirst();
  return inserted
    ? { kind: "replaced", previous: current.identifier }
    : { kind: "taken", previous: current.identifier };
}
