import { sql, type Kysely } from "kysely";
import { guaranteed } from "../../shared/guaranteed.js";
import type { OutboxRow } from "../../shared/outbox/outbox-rows.js";
import { insertOutboxFragment } from "../../shared/outbox/outbox-store.js";
import type { AuthDatabase } from "./schema.js";

// The queries of StepUp: the calling session, its new authentication, and the per-user guard on
// wrong step-up passwords.

export interface SteppingSession {
  deviceId: string;
  identifiers: Array<{ type: string; identifier: string }>;
  /** The earlier of the session's sliding and absolute ends: no token of it outlives that. */
  endsAt: Date;
  /** What the held-session rule needs (domain/held-session.ts). */
  hold: SessionHoldRow;
}

export interface SessionHoldRow {
  /** The session holds no authentication (auth_time null). */
  held: boolean;
  method: string;
  signInIdentifier: string | null;
  startedAt: Date;
}

/**
 * The caller's session if it is still active, locked until the transaction ends (a revocation or a
 * refresh of it waits, and then sees the step-up), with what its access token needs.
 */
export async function lockActiveSession(
  db: Kysely<AuthDatabase>,
  session: { sessionId: string; userId: string },
  now: Date,
): Promise<SteppingSession | undefined> {
  const { rows } = await sql<
    HoldColumns & { device_id: string; identifiers: Array<{ type: string; identifier: string }>; ends_at: Date }
  >`
    select s.device_id, least(s.expires_at, s.absolute_expires_at) as ends_at, s.auth_time is null as held, s.method, s.sign_in_identifier, s.created_at,
      (select coalesce(json_agg(json_build_object('type', i.identifier_type, 'identifier', i.identifier)), '[]'::json)
        from identities i where i.user_id = s.user_id) as identifiers
    from sessions s
    where s.id = ${session.sessionId} and s.user_id = ${session.userId} and s.revoked_at is null and s.expires_at > ${now}
    for update of s`.execute(db);
  const row = rows[0];
  return row && { deviceId: row.device_id, identifiers: row.identifiers, endsAt: row.ends_at, hold: holdOf(row) };
}

interface HoldColumns {
  held: boolean;
  method: string;
  sign_in_identifier: string | null;
  created_at: Date;
}

const holdOf = (row: HoldColumns): SessionHoldRow => ({
  held: row.held,
  method: row.method,
  signInIdentifier: row.sign_in_identifier,
  startedAt: row.created_at,
});

/** The session's hold facts, unlocked (a pre-check; a step-up only ever lifts a hold). */
export async function readSessionHold(
  db: Kysely<AuthDatabase>,
  session: { sessionId: string; userId: string },
): Promise<SessionHoldRow | undefined> {
  const { rows } = await sql<HoldColumns>`
    select s.auth_time is null as held, s.method, s.sign_in_identifier, s.created_at
    from sessions s where s.id = ${session.sessionId} and s.user_id = ${session.userId}`.execute(db);
  const row = rows[0];
  return row && holdOf(row);
}

/**
 * Records a step-up on the session: its authentication becomes this one (refreshes carry it from
 * now on), and its access-token expiry covers the token issued for it (a revocation event says
 * until when its tokens live). One statement with the events.
 */
export async function recordStepUp(
  db: Kysely<AuthDatabase>,
  stepUp: { sessionId: string; now: Date; methods: string[]; accessExpiresAt: Date },
  events: OutboxRow[],
): Promise<void> {
  await sql`
    with session as (
      update sessions set auth_time = ${stepUp.now}, auth_methods = ${stepUp.methods}::text[],
        stepped_up_at = ${stepUp.now}, access_expires_at = greatest(access_expires_at, ${stepUp.accessExpiresAt})
      where id = ${stepUp.sessionId}
    )
    ${insertOutboxFragment(events)}`.execute(db);
}

export interface StepUpPasswordState {
  failures: number;
  lockedUntil: Date | null;
  lastFailureAt: Date | null;
  /** The user's argon2id hash, if they set a password. */
  hash: string | null;
  /** When that password was last set. */
  setAt: Date | null;
}

/**
 * Locks the user's step-up guard (a password_guards row under `guardKey`, created on first use) and
 * reads the user's password hash, in one statement, as LoginWithPassword does per identifier.
 */
export async function lockStepUpPasswordCheck(
  db: Kysely<AuthDatabase>,
  guardKey: string,
  userId: string,
  now: Date,
): Promise<StepUpPasswordState> {
  const { rows } = await sql<{
    failures: number;
    locked_until: Date | null;
    last_failure_at: Date | null;
    hash: string | null;
    updated_at: Date | null;
  }>`
    with guard as (
      insert into password_guards as g (identifier, failures, updated_at) values (${guardKey}, 0, ${now})
      on conflict (identifier) do update set updated_at = g.updated_at
      returning failures, locked_until, last_failure_at
    )
    select guard.failures, guard.locked_until, guard.last_failure_at, p.hash, p.updated_at
    from guard left join passwords p on p.user_id = ${userId}`.execute(db);
  const row = guaranteed(rows[0], "the guard upsert returns its row");
  return {
    failures: row.failures,
    lockedUntil: row.locked_until,
    lastFailureAt: row.last_failure_at,
    hash: row.hash,
    setAt: row.updated_at,
  };
}

/**
 * A right step-up password: clears the guard's failures when the user's hash is still the one the
 * password was checked against. Returns false (and changes nothing) when the password changed
 * meanwhile.
 */
export async function settleStepUpPassword(
  db: Kysely<AuthDatabase>,
  success: { guardKey: string; userId: string; checkedHash: string; now: Date },
): Promise<boolean> {
  const { rows } = await sql<{ unchanged: boolean }>`
    with current as (
      select hash = ${success.checkedHash} as unchanged from passwords where user_id = ${success.userId}
    ), guard as (
      update password_guards set failures = 0, locked_until = null, last_failure_at = null, updated_at = ${success.now}
      where identifier = ${success.guardKey} and exists (select 1 from current where unchanged)
    )
    select coalesce((select unchanged from current), false) as unchanged`.execute(db);
  return guaranteed(rows[0], "a select without FROM returns one row").unchanged;
}
