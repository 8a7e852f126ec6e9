import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  // The background cleanup forgets sealed grace copies (refresh_tokens.successor_box) once the
  // grace window is over; this partial index keeps that sweep to the rows that still hold one.
  await sql`create index refresh_tokens_sealed on refresh_tokens (rotated_at) where successor_box is not null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index refresh_tokens_sealed`.execute(db);
}
