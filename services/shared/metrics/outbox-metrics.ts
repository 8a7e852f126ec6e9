import { Gauge } from "prom-client";
import { sql, type Kysely } from "kysely";
import type { Logger } from "../logging.js";
import type { OutboxDatabase } from "../outbox/outbox-table.js";
import type { ServiceMetrics } from "./service-metrics.js";

interface Backlog {
  pending: number;
  oldestAgeSeconds: number;
}

/**
 * The outbox backlog and the age of its oldest unsent event, read on each scrape with one query on
 * the partial index of unsent rows (outbox_pending), so it costs nothing while the relay keeps up.
 * A growing age is the alert: events are committed but not reaching consumers. If the database does
 * not answer, the two series are dropped from that scrape rather than showing stale numbers.
 */
export function registerOutboxMetrics(
  metrics: ServiceMetrics,
  db: Kysely<OutboxDatabase>,
  logger: Logger,
  timeoutMs = 2_000,
): void {
  let sampling: Promise<Backlog | undefined> | undefined;
  // Both gauges are collected concurrently by one scrape: they share one query.
  const sample = () => {
    sampling ??= readBacklog(db, timeoutMs)
      .catch((error: unknown) => {
        logger.warn({ err: error }, "outbox metrics: could not read the backlog");
        return undefined;
      })
      .finally(() => (sampling = undefined));
    return sampling;
  };

  new Gauge({
    name: "mintcoin_outbox_pending_events",
    help: "Events committed to the outbox and not yet published to JetStream.",
    registers: [metrics.registry],
    async collect() {
      const backlog = await sample();
      if (backlog) this.set(backlog.pending);
      else this.reset();
    },
  });
  new Gauge({
    name: "mintcoin_outbox_oldest_pending_age_seconds",
    help: "Age of the oldest unsent outbox event in seconds (0 when none is pending).",
    registers: [metrics.registry],
    async collect() {
      const backlog = await sample();
      if (backlog) this.set(backlog.oldestAgeSeconds);
      else this.reset();
    },
  });
}

async function readBacklog(db: Kysely<OutboxDatabase>, timeoutMs: number): Promise<Backlog> {
  const query = sql<{ pending: string | number | bigint; oldest_age: number | string | null }>`
    select count(*) as pending,
           greatest(0, extract(epoch from now() - min(created_at)))::float8 as oldest_age
    from outbox where sent_at is null`.execute(db);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const { rows } = await Promise.race([query, timeout]);
    const row = rows[0];
    return { pending: Number(row?.pending ?? 0), oldestAgeSeconds: Number(row?.oldest_age ?? 0) };
  } finally {
    clearTimeout(timer);
  }
}
