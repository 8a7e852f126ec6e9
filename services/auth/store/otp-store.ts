import { sql, type Kysely } from "kysely";
import { guaranteed } from "../../shared/guaranteed.js";
import type { OutboxRow } from "../../shared/outbox/outbox-rows.js";
import { insertOutboxFragment } from "../../shared/outbox/outbox-store.js";
import {
  countHitIfRoom,
  giveBackRateLimitHit,
  keyLockedFirst,
  oldestInWindow,
  rateLimitHitFromRow,
  type RateLimitHit,
} from "./rate-limit-store.js";
import type { AuthDatabase } from "./schema.js";
import { takeSendBudgetFragment, type SendBudgetWindow } from "./send-budget-store.js";

export interface NewOtpCode {
  id: string;
  identifier: string;
  identifierType: string;
  purpose: string;
  codeHash: Uint8Array;
  createdAt: Date;
  expiresAt: Date;
  deviceId: string | null;
  ipAddress: string | null;
  challengeHash: Uint8Array;
}

/** Stores a code and its events in one statement (atomic on its own: no transaction needed). */
export async function insertOtpCode(db: Kysely<AuthDatabase>, code: NewOtpCode, events: OutboxRow[]): Promise<void> {
  await sql`
    with code as (
      insert into otp_codes (id, identifier, identifier_type, purpose, code_hash, created_at, expires_at, closed_at, device_id, ip_address, challenge_hash)
      values (${code.id}, ${code.identifier}, ${code.identifierType}, ${code.purpose}, ${code.codeHash}, ${code.createdAt},
        ${code.expiresAt}, null, ${code.deviceId}, ${code.ipAddress}, ${code.challengeHash})
    )
    ${insertOutboxFragment(events)}`.execute(db);
}

export interface OtpSendCounted {
  counted: true;
  /** The identifier's window after this send: hits inside it, this one included, and the oldest. */
  byIdentifier: RateLimitHit;
  /** The user holding the identifier, if anyone does (for auth.otp.sent). */
  holderUserId: string | null;
  /** The send took its unit of the global budget (only when both limits let it through). */
  budgetTaken: boolean;
}

export interface OtpSendRefused {
  counted: false;
  /** The limit that refused the send: its window is full. */
  refusedBy: "identifier" | "network";
  /** The oldest hit of that window: a slot frees at oldest + window. */
  oldest: Date;
}

export type OtpSendStart = OtpSendCounted | OtpSendRefused;

/**
 * SendOtp's first statement, one autocommit round trip: counts the send against the identifier's and
 * the network's sliding windows only if both have room, takes a unit of the global budget if they
 * did (send-budget-store.ts; after them, so a send they refuse never spends or holds one), and finds
 * the user holding the identifier. A refused send counts nowhere.
 *
 * One statement can change a row only once, so the identifier's room is read first, under its row's
 * lock, the network's hit is added only if both have room, and the identifier's only if the network's
 * was. Each send first takes the identifier's advisory lock (keyLockedFirst), so sends for one
 * identifier run one after another; after it, a send locks the network's row and then the budget's
 * (the identifier's row before them, or, when its snapshot does not have that row, after the
 * network's). Without it, a send that began before another created the identifier's row would lock
 * the network's row before the identifier's, the reverse of a send that sees the row, and the two
 * could deadlock. The same stale snapshot is why concurrent first sends for an identifier may each
 * find room, be counted by their network and then be refused by the identifier's exact count: that
 * network hit is given back by a second statement.
 * Earlier codes are left open: each is reachable through its own challenge, so a send by someone
 * else does not kill the code its owner is about to type.
 */
export async function startOtpSend(
  db: Kysely<AuthDatabase>,
  send: {
    identifier: string;
    identifierKey: string;
    ipKey: string;
    now: Date;
    windowMs: number;
    maxSendsPerIdentifier: number;
    maxSendsPerIp: number;
    budget: SendBudgetWindow;
  },
): Promise<OtpSendStart> {
  const { identifierKey, ipKey, now, windowMs } = send;
  const identifierHitsBefore = sql`identifier_before, unnest(identifier_before.hits) as h
    where h > ${new Date(now.getTime() - windowMs)}`;
  const identifierRoom = sql`((select count(*) from ${identifierHitsBefore}) < ${send.maxSendsPerIdentifier}::integer)`;
  const networkCounted = sql`exists (select 1 from network)`;
  const { rows } = await sql<{
    identifier_room: boolean;
    identifier_count: number | null;
    identifier_oldest: Date | null;
    network_counted: boolean;
    network_oldest: Date | null;
    identifier_before_oldest: Date | null;
    holder: string | null;
    budget_taken: boolean;
  }>`
    with identifier_before as (
      select hits from rate_limits where ${keyLockedFirst(identifierKey)} and key = ${identifierKey} for update
    ),
    network as (${countHitIfRoom(ipKey, now, windowMs, send.maxSendsPerIp, identifierRoom)}),
    identifier as (${countHitIfRoom(identifierKey, now, windowMs, send.maxSendsPerIdentifier, networkCounted)}),
    budget as (${takeSendBudgetFragment(send.budget, sql`exists (select 1 from identifier)`)})
    select ${identifierRoom} as identifier_room,
      (select count from identifier) as identifier_count, (select oldest from identifier) as identifier_oldest,
      ${networkCounted} as network_counted,
      ${oldestInWindow(ipKey, now, windowMs)} as network_oldest,
      (select min(h) from ${identifierHitsBefore}) as identifier_before_oldest,
      (select user_id from identities where identifier = ${send.identifier}) as holder,
      exists (select 1 from budget) as budget_taken`.execute(db);
  const row = guaranteed(rows[0], "the statement returns one row");
  if (row.identifier_count !== null && row.identifier_oldest !== null) {
    return {
      counted: true,
      byIdentifier: rateLimitHitFromRow({
        key: identifierKey,
        count: row.identifier_count,
        oldest: row.identifier_oldest,
      }),
      holderUserId: row.holder,
      budgetTaken: row.budget_taken,
    };
  }
  if (row.identifier_room && !row.network_counted) {
    // A network that was just created by a concurrent send is not in this statement's snapshot: its
    // hits are all from now on, so a slot frees a whole window from now.
    return { counted: false, refusedBy: "network", oldest: row.network_oldest ?? now };
  }
  if (row.network_counted) {
    // The race of first sends described above: this network hit was for a send that is refused.
    // Best effort: if the give-back fails, the network counts one send too many (fails closed) and
    // the refusal stands.
    await giveBackRateLimitHit(db, ipKey, now).catch(() => undefined);
  }
  return { counted: false, refusedBy: "identifier", oldest: row.identifier_before_oldest ?? now };
}
