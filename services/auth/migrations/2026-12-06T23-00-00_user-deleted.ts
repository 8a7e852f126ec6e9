import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // A deleted account, as the user service announces it (user.deleted): like a ban, for good.
  await db.schema
    .alterTable("user_restrictions")
    .addColumn("deleted", "boolean", (col) => col.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("user_restrictions").dropColumn("deleted").execute();
}
