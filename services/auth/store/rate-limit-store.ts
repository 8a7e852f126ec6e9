import { sql, type Kysely } from "kysely";
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
  const windowStart = new Date(now.getTime() - windowMs);
  const { rows } = await sql<{ count: number; oldest: Date }>`
    insert into rate_limits as r (key, hits, updated_at)
    values (${key}, array[${now}::timestamptz], ${now})
    on conflict (key) do update set
      hits = array(select h from unnest(r.hits) as h where h > ${windowStart} order by h) || ${now}::timestamptz,
      updated_at = ${now}
    returning cardinality(hits) as count, hits[1] as oldest`.execute(db);
  const row = rows[0]!;
  return { count: Number(row.count), oldest: new Date(row.oldest) };
}
