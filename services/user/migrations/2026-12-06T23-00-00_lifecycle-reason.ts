import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Why an administrator moved the user to its current lifecycle state (UpdateLifecycleState's
  // reason; for a deleted user, why it was deleted). Null when the state was reached otherwise.
  await db.schema.alterTable("users").addColumn("lifecycle_reason", "text").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("users").dropColumn("lifecycle_reason").execute();
}
