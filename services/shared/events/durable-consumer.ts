/**
 * Durable JetStream consumers for the events of the catalog. One helper for every service that reacts
 * to another's events.
 *
 * ## Consuming
 *
 *     const consumer = startDurableConsumer({
 *       nats: runtime.nats,                // the service's NatsLink
 *       logger,
 *       stream: streams.user.name,         // "USER_EVENTS"
 *       name: "auth-service",              // durable name prefix: one durable per subject
 *       handlers: {
 *         "user.suspended": async (event, delivery) => { ... },   // event: a decoded UserSuspended
 *         "user.banned": async (event) => { ... },
 *       },
 *     });
 *     await consumer.ready;                // optional: every durable is attached
 *     await consumer.stop();               // on shutdown
 *
 * - Each subject gets its own durable consumer `${name}_${subject with "." -> "_"}` (explicit ack,
 *   deliver all, filter on that subject): nats-server 2.9 has no multi-subject filters, and one
 *   subject per durable also keeps a slow handler from holding up the others.
 * - A handler that resolves acks the message, at the end of that event-loop turn with the others
 *   handled in it (ack-batcher.ts: one socket write instead of one per event); one that throws naks
 *   it and it is redelivered later (with a growing delay, forever: fix the bug or the dependency and
 *   it catches up). A payload that does not decode as the catalog's type is terminated and logged:
 *   retrying cannot help.
 * - Every service instance may run the same consumer: JetStream hands each message to one of them.
 * - Consumption runs in a restart loop: NATS down at start, NATS restarting, the consumer or stream
 *   deleted (a server that lost its storage) all end in the consumer being recreated and resumed.
 * - Delivery is at least once and, across subjects or after a redelivery, in no particular order.
 *
 * ## Idempotency: handlers must leave the same state when an event comes twice or out of order
 *
 * Either guard the effect by version or time (apply only what is newer than what you hold), or
 * record the event id in the same transaction as the effect:
 *
 *     "user.banned": (event) => transact(async (trx) => {
 *       if (!(await markEventProcessed(trx, "auth-service", event.eventId))) return; // seen: no-op
 *       await revokeEverySession(trx, event.userId, ...);
 *     }),
 *
 * with `markEventProcessed` (processed-events-store.ts), which needs its table: merge
 * `processedEventsMigrations` (processed-events-migration.ts) into the service's migrations and add
 * `ProcessedEventsTable` as `processed_events` to its database interface (as with the outbox).
 */
import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { AckPolicy, DeliverPolicy, jetstreamManager, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../logging.js";
import { createAckBatcher } from "./ack-batcher.js";
import { eventCatalog, type EventSubject } from "./catalog.js";
import type { NatsLink } from "./nats-link.js";
import { pullExpiresMs } from "./pull-expiry.js";

/** The decoded event message of a subject, e.g. a UserSuspended for "user.suspended". */
export type EventMessage<S extends EventSubject> = MessageShape<(typeof eventCatalog)[S]>;

/** Facts about one delivery, for logging and for handlers that care. */
export interface Delivery {
  subject: EventSubject;
  /** Nats-Msg-Id header: the event id. */
  messageId: string;
  /** Position in the stream. */
  streamSequence: number;
  /** 1 on first delivery. */
  deliveryCount: number;
}

export type EventHandler<S extends EventSubject> = (event: EventMessage<S>, delivery: Delivery) => Promise<void>;

export type EventHandlers = { [S in EventSubject]?: EventHandler<S> };

export interface DurableConsumerOptions {
  nats: NatsLink;
  logger: Logger;
  /** Stream name, e.g. streams.auth.name. */
  stream: string;
  /** Durable name prefix, unique per consuming service and purpose, e.g. "user-service". */
  name: string;
  handlers: EventHandlers;
  /** How long a delivered message may stay unacknowledged before it is redelivered (default 30 s). */
  ackWaitMs?: number;
  /** Messages pulled at once per subject (default 64). */
  batchSize?: number;
  /** Delay before redelivering a message whose handler threw (default: 0.5 s doubling to 60 s). */
  retryDelayMs?: (deliveryCount: number) => number;
}

export interface DurableConsumer {
  /** Resolves once every subject's durable exists and is being consumed (the first time). */
  ready: Promise<void>;
  /**
   * Stops pulling; a message being handled finishes first, and every handled message is acknowledged.
   * Then waits, at most 2 s and not while NATS is unreachable, for the NATS server of this connection
   * to answer a PING: it has then read those acks and the end of the pulls, so it hands no new
   * message to them (in a cluster the consumer's leader may be another server, which learns of it a
   * route hop later). A stop before NATS was ever reachable returns at once.
   */
  stop(): Promise<void>;
}

/** The durable consumer name used for `subject` (valid JetStream names have no dots). */
export function durableNameFor(name: string, subject: string): string {
  return `${name}_${subject.replace(/[.*>]/g, "_")}`;
}

export function startDurableConsumer(options: DurableConsumerOptions): DurableConsumer {
  const { logger } = options;
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const batchSize = options.batchSize ?? 64;
  const retryDelayMs = options.retryDelayMs ?? ((count: number) => Math.min(500 * 2 ** (count - 1), 60_000));
  let stopped = false;
  let stopRequested!: () => void;
  /** Settles when stop() is called: a wait for NATS, which may never come up, races against it. */
  const whenStopped = new Promise<undefined>((resolve) => {
    stopRequested = () => resolve(undefined);
  });
  /** The connection the pulls were made on, once one was (stop() waits for the server to read it). */
  let pullConnection: NatsConnection | undefined;
  const active = new Set<ConsumerMessages>();
  const acks = createAckBatcher((error) =>
    logger.warn({ err: error, consumer: options.name }, "an event could not be acknowledged; it will be redelivered"),
  );

  /** Waits out a retry's back-off, cut short by stop(). */
  const sleep = (ms: number) => atMost(ms, whenStopped);

  async function handle(subject: EventSubject, handler: EventHandler<EventSubject>, message: JsMsg): Promise<void> {
    const delivery: Delivery = {
      subject,
      messageId: message.headers?.get("Nats-Msg-Id") ?? "",
      streamSequence: message.seq,
      deliveryCount: message.info.deliveryCount,
    };
    let event: EventMessage<EventSubject>;
    try {
      event = fromBinary(eventCatalog[subject] as DescMessage, message.data) as EventMessage<EventSubject>;
    } catch (error) {
      logger.error({ err: error, ...delivery, consumer: options.name }, "event does not decode; dropping it");
      // No reason text: nats-server 2.9 does not understand "+TERM <reason>" and would redeliver.
      message.term();
      return;
    }
    try {
      await handler(event, delivery);
      acks.ack(message);
    } catch (error) {
      const delayMs = retryDelayMs(delivery.deliveryCount);
      logger.warn(
        { err: error, ...delivery, consumer: options.name, retryInMs: delayMs },
        "event handler failed; will retry",
      );
      message.nak(delayMs);
    }
  }

  async function attach(subject: EventSubject): Promise<ConsumerMessages> {
    // A service started while NATS is down waits here until it comes up; a stop must not wait for that.
    const ready = await Promise.race([options.nats.ready, whenStopped]);
    if (!ready) throw new Error("stopped before NATS was reachable");
    const { connection, js } = ready;
    pullConnection = connection;
    const jsm = await jetstreamManager(connection);
    const durable = durableNameFor(options.name, subject);
    try {
      await jsm.consumers.info(options.stream, durable);
    } catch {
      await jsm.consumers.add(options.stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: subject,
        ack_wait: nanos(ackWaitMs),
        max_deliver: -1,
        max_ack_pending: 1_000,
      });
    }
    const consumer = await js.consumers.get(options.stream, durable);
    // Ends the iterator when the consumer or stream disappears, so the loop below recreates it.
    return consumer.consume({ max_messages: batchSize, abort_on_missing_resource: true, expires: pullExpiresMs });
  }

  async function run(subject: EventSubject, handler: EventHandler<EventSubject>, attached: () => void): Promise<void> {
    let backoffMs = 250;
    while (!stopped) {
      let messages: ConsumerMessages | undefined;
      try {
        messages = await attach(subject);
        active.add(messages);
        attached();
        void watchForDeletion(messages);
        if (stopped) messages.stop();
        for await (const message of messages) {
          await handle(subject, handler, message);
          backoffMs = 250;
        }
      } catch (error) {
        if (stopped) break;
        logger.warn({ err: error, subject, consumer: options.name }, "event consumer interrupted; restarting it");
      } finally {
        if (messages) active.delete(messages);
      }
      if (!stopped) {
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5_000);
      }
    }
  }

  /** A deleted durable is not recreated by the client library; stopping makes run() recreate it. */
  async function watchForDeletion(messages: ConsumerMessages): Promise<void> {
    for await (const status of messages.status()) {
      if (status.type === "consumer_deleted" || status.type === "consumer_not_found") {
        messages.stop();
        return;
      }
    }
  }

  const subjects = Object.keys(options.handlers) as EventSubject[];
  const attachedSignals: Promise<void>[] = [];
  const loops = subjects.map((subject) => {
    let attached!: () => void;
    attachedSignals.push(new Promise<void>((resolve) => (attached = resolve)));
    return run(subject, options.handlers[subject] as EventHandler<EventSubject>, attached);
  });

  return {
    ready: Promise.all(attachedSignals).then(() => undefined),
    async stop() {
      stopped = true;
      stopRequested();
      for (const messages of active) messages.stop();
      await Promise.allSettled(loops);
      acks.flush();
      await serverHasRead();
    },
  };

  /**
   * Waits until the server has read what this consumer wrote last: the acks just flushed and the
   * unsubscribes of its pulls, which a PING answered proves (on this connection's server; in a
   * cluster the consumer's leader hears of it a route hop later, so a late delivery becomes unlikely,
   * not impossible). Until the server has read an unsubscribe it may hand a new message to that pull,
   * whose inbox is gone: the message then waits out ack_wait (30 s) before another instance of the
   * durable gets it. Measured before this wait, a message published as stop() returned reached the
   * durable's next consumer 30 s late in 5 of 40 tries. Skipped while NATS is unreachable and
   * bounded otherwise: a shutdown must not hang on it.
   */
  async function serverHasRead(): Promise<void> {
    const connection = pullConnection;
    if (!connection || connection.isClosed() || !options.nats.isConnected()) return;
    await atMost(
      stopFlushTimeoutMs,
      connection.flush().catch(() => undefined),
    );
  }
}

/** Waits for `until`, or `ms`, whichever comes first (the timer is cleared either way). */
async function atMost(ms: number, until: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([until, elapsed]);
  } finally {
    clearTimeout(timer);
  }
}

/** The longest stop() waits for the server to read its last acks and unsubscribes. */
const stopFlushTimeoutMs = 2_000;
