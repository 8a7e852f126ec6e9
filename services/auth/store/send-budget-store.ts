import { sql, type Kysely, type RawBuilder } from "kysely";
import type { AuthDatabase } from "./schema.js";

// The global send budget: one counter row per channel and clock-aligned window, shared by every
// instance. A send takes its unit in the statement that counts it against its identifier and
// network (otp-store.ts), which commits on its own, so the row is locked only while that statement
// runs, never through a round trip or a delivery: sends queue behind each other only that long.

/** One channel's window of the budget. */
export interface SendBudgetWindow {
  channel: string;
  windowStart: Date;
  /** Sends the window allows. */
  budget: number;
}

/**
 * Takes one send from the window's budget when `condition` (SQL) holds, unless `budget` sends were
 * already taken, as a statement fragment for a CTE: it returns a row when the unit was taken. The
 * conditional upsert is atomic under the row's lock: concurrent sends on any number of instances
 * never take more than `budget`.
 */
export function takeSendBudgetFragment(window: SendBudgetWindow, condition: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    insert into otp_send_budgets as b (channel, window_start, sends)
    select ${window.channel}::text, ${window.windowStart}::timestamptz, 1 where ${condition}
    on conflict (channel, window_start) do update set sends = b.sends + 1 where b.sends < ${window.budget}
    returning b.sends`;
}

/** Gives back a send that was taken but not made (not delivered). */
export async function giveBackSendBudget(db: Kysely<AuthDatabase>, taken: SendBudgetWindow): Promise<void> {
  await db
    .updateTable("otp_send_budgets")
    .set((eb) => ({ sends: eb("sends", "-", 1) }))
    .where("channel", "=", taken.channel)
    .where("window_start", "=", taken.windowStart)
    .where("sends", ">", 0)
    .execute();
}
