import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // Codes sent per channel (sms, email) in each clock-aligned window, across every instance: the
  // global send budget against SMS pumping. One short upsert per send; old windows are swept.
  await db.schema
    .createTable("otp_send_budgets")
    .addColumn("channel", "text", (col) => col.notNull())
    .addColumn("window_start", "timestamptz", (col) => col.notNull())
    .addColumn("sends", "integer", (col) => col.notNull())
    .addPrimaryKeyConstraint("otp_send_budgets_pkey", ["channel", "window_start"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("otp_send_budgets").execute();
}
