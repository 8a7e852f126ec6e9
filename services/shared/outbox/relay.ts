import { sql, type Kysely } from "kysely";
import type { Logger } from "../logging.js";
import { nextDrain } from "./drain-pacing.js";
import type { OutboxDatabase } from "./outbox-table.js";

export interface OutboxMessage {
  id: string;
  subject: string;
  event_type: string;
  payload: Uint8Array;
  /** The event's occurred_at, the time of the transaction that recorded it: the relay's lag is measured from it. */
  created_at: Date;
}

/** Where the relay sends events. JetStream in production (events/jetstream-publisher.ts). */
export interface OutboxPublisher {
  publish(message: OutboxMessage): Promise<void>;
}

export interface OutboxRelayOptions {
  db: Kysely<OutboxDatabase>;
  publisher: OutboxPublisher;
  logger: Logger;
  /** Rows claimed per transaction. */
  batchSize?: number;
  /** How often to look for rows written by other instances when nothing woke us. */
  pollIntervalMs?: number;
  /**
   * The least time between the starts of two drains while events keep coming (default 10 ms): after
   * a wake-up that found the relay idle it waits this long, so that the commits of the next few
   * milliseconds ride in the same relay transaction instead of one each, and a busy relay starts its
   * next drain no sooner than this after the last one started. Each drain is a transaction (three
   * round trips) whatever it carries; drained back to back under load, the relay would run one per
   * handful of events. So while it keeps up (its batches are not full) the relay makes at most
   * 1000 / lingerMs transactions a second, and an event committed during a drain waits for the later
   * of that drain's end and `lingerMs` after its start.
   */
  lingerMs?: number;
  /** Longest wait between retries while publishing fails. */
  maxBackoffMs?: number;
  /** How long sent rows are kept (for audits and replays) before they are purged. */
  retentionMs?: number;
}

export interface OutboxRelay {
  start(): void;
  /** Publish soon: call after committing a transaction that recorded events. */
  wake(): void;
  /** Claims and publishes one batch; returns how many rows were published. */
  drainOnce(): Promise<number>;
  /** Stops the loop after a last attempt to publish what is pending. */
  stop(): Promise<void>;
}

/**
 * Publishes outbox rows in the order they were inserted (`seq`) and marks them sent. Rows are claimed with
 * `FOR UPDATE SKIP LOCKED`, so any number of relays (one per service instance) share the work
 * without publishing a row twice at the same time. A crash between publishing and marking a row
 * sent re-publishes it later with the same `Nats-Msg-Id`, which JetStream de-duplicates; consumers
 * are idempotent by event id for the rare case beyond the stream's duplicate window.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, publisher, logger } = options;
  const batchSize = options.batchSize ?? 200;
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const lingerMs = options.lingerMs ?? 10;
  const maxBackoffMs = options.maxBackoffMs ?? 5_000;
  const retentionMs = options.retentionMs ?? 24 * 3_600_000;

  let running: Promise<void> | undefined;
  let stopping = false;
  let wakeUp: (() => void) | undefined;
  let endLinger: (() => void) | undefined;
  let woken = false;
  let lastPurge = 0;

  function wake(): void {
    woken = true;
    wakeUp?.();
  }

  function sleep(ms: number): Promise<void> {
    if (woken || stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });
  }

  /** Waits `ms` (cut short only by stop()). */
  function linger(ms: number): Promise<void> {
    if (ms <= 0 || stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        endLinger = undefined;
        resolve();
      }
      endLinger = done;
    });
  }

  /**
   * One transaction: claim and mark a batch in one statement (the rows stay locked, and their
   * sent_at invisible to others, until commit), publish, put back the rows that failed (counting
   * the attempt), commit. Three round trips whatever the batch size.
   */
  async function drainOnce(): Promise<number> {
    const outcome = await db.transaction().execute(async (trx) => {
      const { rows } = await claimBatch(batchSize).execute(trx);
      if (rows.length === 0) return { sent: 0 };
      // Publishes start in row order on one connection, so the stream keeps that order.
      const results = await Promise.allSettled(rows.map((row) => publisher.publish(row)));
      const failed = rows.filter((_, index) => results[index]?.status === "rejected").map((row) => row.id);
      const failure = results.find((result) => result.status === "rejected");
      if (!failure) return { sent: rows.length };
      await trx
        .updateTable("outbox")
        .set((eb) => ({
          sent_at: null,
          attempts: eb("attempts", "+", 1),
          last_error: String(failure.reason).slice(0, 500),
        }))
        .where("id", "in", failed)
        .execute();
      return { sent: rows.length - failed.length, error: new PublishFailed(failed.length, failure.reason) };
    });
    if (outcome.error) throw outcome.error;
    return outcome.sent;
  }

  async function purgeSent(): Promise<void> {
    const now = Date.now();
    if (now - lastPurge < 60_000) return;
    lastPurge = now;
    await db
      .deleteFrom("outbox")
      .where("sent_at", "<", new Date(now - retentionMs))
      .execute();
  }

  async function loop(): Promise<void> {
    let backoffMs = 100;
    let failingSince: number | undefined;
    while (!stopping) {
      woken = false;
      // Monotonic: a clock stepped back during the drain must not lengthen the wait after it.
      const drainStarted = performance.now();
      try {
        const published = await drainOnce();
        if (failingSince !== undefined) {
          logger.info({ outageMs: Date.now() - failingSince }, "outbox relay publishing again");
          failingSince = undefined;
        }
        backoffMs = 100;
        if (published < batchSize) await purgeSent();
        // After the purge (once a minute), so that its time counts towards the linger, not on top of it.
        const msSinceDrainStarted = performance.now() - drainStarted;
        const next = nextDrain({ published, batchSize, wokenDuringDrain: woken, msSinceDrainStarted, lingerMs });
        if (next !== "when woken") {
          await linger(next);
          continue;
        }
        await sleep(pollIntervalMs);
        // Woken by a commit after idling: the next ones are probably milliseconds away; let them join.
        if (woken) await linger(lingerMs);
      } catch (error) {
        if (failingSince === undefined) {
          failingSince = Date.now();
          logger.warn({ err: error }, "outbox relay cannot publish; events stay in the outbox and will be retried");
        }
        // Wake-ups are ignored while failing (linger, not sleep): retrying at every commit would
        // only hammer a dead broker.
        woken = false;
        await linger(backoffMs);
        backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
      }
    }
  }

  return {
    start() {
      running ??= loop();
    },
    wake,
    drainOnce,
    async stop() {
      stopping = true;
      wakeUp?.();
      endLinger?.();
      await running;
      running = undefined;
      try {
        while ((await drainOnce()) === batchSize);
      } catch (error) {
        logger.warn({ err: error }, "outbox relay stopped with events pending; they are published on next start");
      }
    },
  };
}

/**
 * Claims the oldest unsent rows and marks them sent, in one statement: `FOR UPDATE SKIP LOCKED`
 * lets other relays pass them by; the outer select restores insertion order (RETURNING has none).
 */
function claimBatch(limit: number) {
  return sql<OutboxMessage>`
    with claimed as (
      select id from outbox where sent_at is null order by seq limit ${limit} for update skip locked
    ), marked as (
      update outbox set sent_at = now() from claimed where outbox.id = claimed.id
      returning outbox.seq, outbox.id, outbox.subject, outbox.event_type, outbox.payload, outbox.created_at
    )
    select id, subject, event_type, payload, created_at from marked order by seq`;
}

class PublishFailed extends Error {
  constructor(count: number, cause: unknown) {
    super(`${count} event(s) could not be published`, { cause });
  }
}
