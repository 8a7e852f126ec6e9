import { sql, type Kysely } from "kysely";
import type { AuthDatabase } from "./schema.js";

// The global send budget: one counter row per channel and clock-aligned window, shared by every
// instance. Each statement commits on its own, so the row is locked for one statement, never for a
// whole SendOtp (whose transaction waits on the delivery): sends do not queue behind each other.

/**
 * Takes one send from the window's budget, unless `budget` sends were already taken. True when
 * taken. The conditional upsert is atomic under the row's lock: concurrent sends on any number of
 * instances never take more than `budget`.
 */
export async function takeSendBudget(
  db: Kysely<AuthDatabase>,
  take: { channel: string; windowStart: Date; budget: number },
): Promise<boolean> {
  const { rows } = await sql<{ sends: number }>`
    insert into otp_send_budgets as b (channel, window_start, sends) values (${take.channel}, ${take.windowStart}, 1)
    on conflict (channel, window_start) do update set sends = b.sends + 1 where b.sends < ${take.budget}
    returning b.sends`.execute(db);
  return rows.length > 0;
}

/** Gives back a send that was taken but not made (refused by another limit, or not delivered). */
export async function giveBackSendBudget(
  db: Kysely<AuthDatabase>,
  taken: { channel: string; windowStart: Date },
): Promise<void> {
  await db
    .updateTable("otp_send_budgets")
    .set((eb) => ({ sends: eb("sends", "-", 1) }))
    .where("channel", "=", taken.channel)
    .where("window_start", "=", taken.windowStart)
    .where("sends", ">", 0)
    .execute();
}
