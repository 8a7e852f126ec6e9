import { sql, type Kysely, type RawBuilder } from "kysely";
import { guaranteed } from "../../shared/guaranteed.js";
import type { AuthDatabase } from "./schema.js";

export interface RateLimitHit {
  /** Hits inside the window, counting this one. */
  count: number;
  /** The oldest hit still inside the window: the limit frees a slot at oldest + window. */
  oldest: Date;
}

/**
 * Records a hit on `key` and returns how many hits the sliding window now holds. The upsert takes the
 * row's lock, so concurrent hits on one key are counted one after another, exactly. Run it inside the
 * transaction of the action it limits: when the caller refuses and rolls back, the hit is undone.
 */
export async function recordRateLimitHit(
  db: Kysely<AuthDatabase>,
  key: string,
  now: Date,
  windowMs: number,
): Promise<RateLimitHit> {
  const { rows } = await sql<RateLimitHitRow>`
    insert into rate_limits as r (key, hits, updated_at)
    values (${key}, array[${now}::timestamptz], ${now})
    on conflict (key) do update set hits = ${hitsInWindow(now, windowMs)} || ${now}::timestamptz, updated_at = ${now}
    returning r.key, cardinality(r.hits) as count, r.hits[1] as oldest`.execute(db);
  return rateLimitHitFromRow(guaranteed(rows[0], "the upsert returns the key's row"));
}

export interface RateLimitHitRow {
  key: string;
  count: number;
  oldest: Date;
}

/**
 * A hit on `key` only if `condition` holds and its window has room for it (fewer than `max` hits),
 * as a statement fragment for a CTE: it returns (key, count, oldest) with the hit counted, and no
 * row when it was not counted. The row is locked either way once `condition` holds, and its count
 * is exact: concurrent hits on one key are counted one after another.
 */
export function countHitIfRoom(
  key: string,
  now: Date,
  windowMs: number,
  max: number,
  condition: RawBuilder<unknown>,
): RawBuilder<RateLimitHitRow> {
  const inWindow = hitsInWindow(now, windowMs);
  return sql<RateLimitHitRow>`
    insert into rate_limits as r (key, hits, updated_at)
    select ${key}::text, array[${now}::timestamptz], ${now}::timestamptz where ${condition}
    on conflict (key) do update set hits = ${inWindow} || ${now}::timestamptz, updated_at = ${now}
      where cardinality(${inWindow}) < ${max}::integer
    returning r.key, cardinality(r.hits) as count, r.hits[1] as oldest`;
}

/**
 * A condition (SQL, always true) that takes a transaction-scoped advisory lock of `key`'s own. Put
 * beside `key = ...` in the WHERE of the statement that finds the key's row, it is taken before that
 * row is read or locked, and whether or not the row exists: it references no column, so Postgres
 * runs it once as a one-time filter above the scan, before the scan reads a row (a sequential scan
 * of an empty table included). So statements that may have to create the row cannot take their other
 * locks in a different order around it.
 */
export function keyLockedFirst(key: string): RawBuilder<boolean> {
  return sql<boolean>`(select true from (select pg_advisory_xact_lock(hashtextextended(${`rate-limit:${key}`}, 0))) as gate)`;
}

/** The oldest hit on `key` inside the window, as this statement's snapshot has it (null: none). */
export function oldestInWindow(key: string, now: Date, windowMs: number): RawBuilder<Date | null> {
  return sql<Date | null>`(select min(h) from rate_limits, unnest(hits) as h
    where key = ${key} and h > ${new Date(now.getTime() - windowMs)})`;
}

/** The row's hits still inside the window ending at `now`, oldest first (alias `r`). */
function hitsInWindow(now: Date, windowMs: number): RawBuilder<Date[]> {
  return sql`array(select h from unnest(r.hits) as h where h > ${new Date(now.getTime() - windowMs)} order by h)`;
}

export function rateLimitHitFromRow(row: RateLimitHitRow): RateLimitHit {
  return { count: Number(row.count), oldest: new Date(row.oldest) };
}

/**
 * Gives back the newest hit on `key`: an attempt counted in advance that turned out not to count (a
 * client secret that was right, in the transaction that recorded it), or a send that its network
 * counted and its identifier then refused (SendOtp's race, a statement after the one that counted it).
 */
export async function giveBackRateLimitHit(db: Kysely<AuthDatabase>, key: string, now: Date): Promise<void> {
  await sql`
    update rate_limits set hits = hits[1:cardinality(hits) - 1], updated_at = ${now}
    where key = ${key} and cardinality(hits) > 0`.execute(db);
}
