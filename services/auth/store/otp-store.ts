import { sql, type Kysely } from "kysely";
import { guaranteed } from "../../shared/guaranteed.js";
import type { OutboxRow } from "../../shared/outbox/outbox-rows.js";
import { insertOutboxFragment } from "../../shared/outbox/outbox-store.js";
import { rateLimitHitFromRow, rateLimitHits, type RateLimitHit, type RateLimitHitRow } from "./rate-limit-store.js";
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

export interface OtpSendStart {
  byIdentifier: RateLimitHit;
  /** Undefined when the request had no client IP. */
  byIp: RateLimitHit | undefined;
  /** The user holding the identifier, if anyone does (for auth.otp.sent). */
  holderUserId: string | null;
  /** The send took its unit of the global budget (only when both limits let it through). */
  budgetTaken: boolean;
}

/**
 * SendOtp's first statement: counts the send against the identifier's and the IP's sliding windows
 * (rate-limit-store.ts; identifier row first, then IP row, in every transaction), takes a unit of
 * the global budget if both limits let the send through (send-budget-store.ts; after them, so a
 * send refused or queued by them never holds one), and finds the user holding the identifier. The
 * caller refuses over-limit sends by rolling the transaction back, which undoes the counting.
 * Earlier codes are left open: each is reachable through its own challenge, so a send by someone
 * else does not kill the code its owner is about to type.
 */
export async function startOtpSend(
  db: Kysely<AuthDatabase>,
  send: {
    identifier: string;
    identifierKey: string;
    ipKey: string | undefined;
    now: Date;
    windowMs: number;
    maxSendsPerIdentifier: number;
    maxSendsPerIp: number;
    budget: SendBudgetWindow;
  },
): Promise<OtpSendStart> {
  const keys = send.ipKey === undefined ? [send.identifierKey] : [send.identifierKey, send.ipKey];
  const withinLimits = sql`(select bool_and(hits.count <= case when hits.key = ${send.identifierKey}
    then ${send.maxSendsPerIdentifier}::integer else ${send.maxSendsPerIp}::integer end) from hits)`;
  const { rows } = await sql<RateLimitHitRow & { holder: string | null; budget_taken: boolean }>`
    with hits as (${rateLimitHits(keys, send.now, send.windowMs)}),
    budget as (${takeSendBudgetFragment(send.budget, withinLimits)})
    select hits.key, hits.count, hits.oldest,
      (select user_id from identities where identifier = ${send.identifier}) as holder,
      exists (select 1 from budget) as budget_taken
    from hits`.execute(db);
  const hit = (key: string | undefined) => {
    const row = rows.find((candidate) => candidate.key === key);
    return row && rateLimitHitFromRow(row);
  };
  return {
    byIdentifier: guaranteed(hit(send.identifierKey), "the upsert returns one row per key"),
    byIp: hit(send.ipKey),
    holderUserId: rows[0]?.holder ?? null,
    budgetTaken: rows[0]?.budget_taken === true,
  };
}
