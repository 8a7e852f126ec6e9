import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // The identifier a session's sign-in proved. A session held for step-up must step up with another
  // proof than its sign-in's (docs/product.md, "Step-up"), so a held code sign-in needs to know which
  // identifier its code went to. Sessions from before this migration get none.
  await db.schema.alterTable("sessions").addColumn("sign_in_identifier", "text").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("sessions").dropColumn("sign_in_identifier").execute();
}
