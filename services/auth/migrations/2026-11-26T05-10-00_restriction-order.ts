import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Which user.suspended / user.unsuspended / user.banned event the row reflects: the profile
  // version and occurred_at of the newest one applied. An older event arriving late (events of
  // different subjects come in no particular order) is then recognised and does not undo a newer one.
  await db.schema
    .alterTable("user_restrictions")
    .addColumn("event_version", "bigint", (col) => col.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable("user_restrictions").addColumn("event_at", "timestamptz").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("user_restrictions").dropColumn("event_at").execute();
  await db.schema.alterTable("user_restrictions").dropColumn("event_version").execute();
}
