import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // A session's last active authentication (OpenID Connect auth_time, RFC 8176 amr): set by a
  // sign-in the suspicious-login policy let through and by each step-up, kept by refreshes. Sessions
  // from before this migration get none: they hold no authentication the service vouches for and
  // step up once before a sensitive action.
  await db.schema
    .alterTable("sessions")
    .addColumn("auth_time", "timestamptz")
    .addColumn("auth_methods", sql`text[]`, (col) => col.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn("stepped_up_at", "timestamptz")
    .execute();
  // The device's recent networks (IPv4 /24, IPv6 /48), newest first, for the "new network" sign-in
  // check. Devices start with none: nothing to compare with until their next sign-in.
  await db.schema
    .alterTable("devices")
    .addColumn("networks", sql`text[]`, (col) => col.notNull().defaultTo(sql`'{}'::text[]`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("devices").dropColumn("networks").execute();
  await db.schema
    .alterTable("sessions")
    .dropColumn("stepped_up_at")
    .dropColumn("auth_methods")
    .dropColumn("auth_time")
    .execute();
}
