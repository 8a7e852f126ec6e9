import type { Kysely } from "kysely";
import type { LifecycleState } from "../domain/profile.js";
import type { UserDatabase } from "./schema.js";

/** What the token checks need of a user: one primary-key read of two columns. */
export interface UserStanding {
  lifecycleState: LifecycleState;
  suspendedUntil: Date | null;
}

export async function findStanding(db: Kysely<UserDatabase>, userId: string): Promise<UserStanding | undefined> {
  const row = await db
    .selectFrom("users")
    .select(["lifecycle_state", "suspended_until"])
    .where("id", "=", userId)
    .executeTakeFirst();
  return row && { lifecycleState: row.lifecycle_state as LifecycleState, suspendedUntil: row.suspended_until };
}
