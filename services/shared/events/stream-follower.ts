/**
 * Follows a JetStream stream with an ordered (ephemeral, in-memory) consumer of this process's own:
 * for state every instance must hold in memory (the revocation list, the profile cache's
 * invalidations), as opposed to work shared between instances (durable-consumer.ts).
 *
 *     const follower = followStream({ nats, logger, stream: "AUTH_EVENTS", subject: "auth.session.revoked",
 *       startAt: () => ({ deliver_policy: DeliverPolicy.New }), onMessage: (message) => ... });
 *     follower.isCurrent();   // caught up and running
 *     await follower.close();
 *
 * When NATS drops the connection, or is unreachable, the follower keeps retrying with backoff and
 * resumes after the last message it handed over, so nothing the stream still holds is skipped;
 * `isCurrent()` is false from the disconnect until it has caught up again.
 */
import {
  type ConsumerMessages,
  type JsMsg,
  DeliverPolicy,
  jetstream,
  type OrderedConsumerOptions,
} from "@nats-io/jetstream";
import type { NatsConnection, Status } from "@nats-io/transport-node";
import type { Logger } from "../logging.js";
import type { NatsLink } from "./nats-link.js";
import { pullExpiresMs } from "./pull-expiry.js";

export interface StreamFollowerOptions {
  nats: NatsLink;
  logger: Logger;
  stream: string;
  /** Subject filter (wildcards allowed). */
  subject: string;
  /** Where the first consumer starts (later ones resume after the last message seen). */
  startAt: () => Partial<OrderedConsumerOptions>;
  /** Called for every message, in stream order; a throw is logged and the message skipped. */
  onMessage: (message: JsMsg) => void;
  /** Called when the follower stops being current (the feed was interrupted). */
  onInterrupted?: () => void;
  /** Called when the library reports its consumer reset or recreated (messages may be replayed). */
  onReset?: () => void;
  /** Names the feed in logs. */
  name: string;
}

export interface StreamFollower {
  /** True while caught up and running; false before `ready` and from an interruption until caught up again. */
  isCurrent(): boolean;
  /** When (ms since epoch) the follower last became current; undefined while it is not. */
  currentSince(): number | undefined;
  /** Resolves once the first consumer has caught up with what the stream held when it started. */
  ready: Promise<void>;
  /**
   * The stream sequence of the last message handed to `onMessage` (0 before the first): whether a
   * message known by its sequence has been applied yet.
   */
  lastSequence(): number;
  close(): Promise<void>;
}

/**
 * How long one request to make or read the follower's consumer may take. The JetStream default (5 s)
 * made each attempt to resume after a cluster member died wait 5 s while the stream had no leader or
 * the request went to the dead member, and several such attempts in a row kept the follower deaf for
 * 20 s and more. A healthy cluster answers in milliseconds; a request that times out is simply made
 * again (the consumer is ephemeral: an orphan of a late answer expires on the server by itself).
 */
const consumerRequestTimeoutMs = 1_500;

export function followStream(options: StreamFollowerOptions): StreamFollower {
  const { logger } = options;
  let lastSequence = 0;
  let current = false;
  let currentSinceMs = 0;
  let closed = false;
  let messagesNow: ConsumerMessages | undefined;
  let wakeSleeper: (() => void) | undefined;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let markClosed!: () => void;
  /** Resolves on close, so that a loop still waiting for a first NATS connection ends too. */
  const closing = new Promise<undefined>((resolve) => (markClosed = () => resolve(undefined)));

  function consumerOptions(): Partial<OrderedConsumerOptions> {
    if (lastSequence > 0) {
      return {
        filter_subjects: options.subject,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: lastSequence + 1,
      };
    }
    return { filter_subjects: options.subject, ...options.startAt() };
  }

  function interrupted(): void {
    if (current) options.onInterrupted?.();
    current = false;
  }

  async function run(): Promise<void> {
    let backoffMs = 250;
    while (!closed) {
      try {
        const link = await Promise.race([options.nats.ready, closing]);
        if (!link) break;
        const js = jetstream(link.connection, { timeout: consumerRequestTimeoutMs });
        const consumer = await js.consumers.get(options.stream, consumerOptions());
        const pending = (await consumer.info(true)).num_pending;
        let received = 0;
        const caughtUp = () => {
          if (!current) currentSinceMs = Date.now();
          current = true;
          markReady();
        };
        if (pending === 0) caughtUp();
        const messages = await consumer.consume({ abort_on_missing_resource: true, expires: pullExpiresMs });
        messagesNow = messages;
        void restartWhenStuck(messages);
        void stopOnDisconnect(link.connection, messages);
        if (closed) messages.stop();
        for await (const message of messages) {
          lastSequence = message.seq;
          try {
            options.onMessage(message);
          } catch (error) {
            logger.error(
              { err: error, sequence: message.seq, subject: message.subject },
              `${options.name}: a message does not decode; skipped`,
            );
          }
          if (++received >= pending) caughtUp();
          backoffMs = 250;
        }
      } catch (error) {
        if (closed) break;
        logger.warn({ err: error }, `${options.name} interrupted; resuming`);
      }
      interrupted();
      messagesNow = undefined;
      if (!closed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoffMs);
          wakeSleeper = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        backoffMs = Math.min(backoffMs * 2, 5_000);
      }
    }
  }

  /**
   * The library recreates an ordered consumer by itself after a gap or missed heartbeats, but
   * from its first configuration; when that keeps failing (NATS restarted without the in-memory
   * consumer), we start a fresh one from the last sequence we saw.
   *
   * Missed heartbeats end this consumer at once. In a cluster an ordered consumer lives on one
   * server (one replica, in memory); when that server dies while our connection is to another, no
   * message and no error arrives, and the library keeps asking the dead consumer for its info for
   * ever: the follower would call itself current and hear of nothing. A fresh consumer from the last
   * sequence is placed on a live server.
   */
  async function restartWhenStuck(messages: ConsumerMessages): Promise<void> {
    let resets = 0;
    for await (const status of messages.status()) {
      if (status.type === "heartbeats_missed") {
        messages.stop();
        return;
      }
      if (status.type === "ordered_consumer_recreated") {
        resets = 0;
        options.onReset?.();
      }
      if (status.type === "reset" || status.type === "stream_not_found" || status.type === "consumer_not_found") {
        options.onReset?.();
        if (++resets >= 3) {
          messages.stop();
          return;
        }
      }
    }
  }

  /**
   * The library keeps an ordered consumer waiting through a disconnect, and says nothing: while
   * disconnected we would call ourselves current and hear of nothing. Stopping it on disconnect
   * makes the loop resume after the last message once NATS is back, and be current only when it
   * has caught up again.
   */
  async function stopOnDisconnect(connection: NatsConnection, messages: ConsumerMessages): Promise<void> {
    // Typed as a plain AsyncIterable, it is nats.js's QueuedIterator, which stop() ends at once
    // (a `break` would wait for the next status): no listener outlives its consumer.
    const statuses = connection.status() as AsyncIterable<Status> & { stop?: () => void };
    void messages.closed().then(() => statuses.stop?.());
    for await (const status of statuses) {
      if (status.type === "disconnect") {
        messages.stop();
        return;
      }
    }
  }

  const loop = run();

  return {
    isCurrent: () => current && !closed,
    currentSince: () => (current && !closed ? currentSinceMs : undefined),
    ready,
    lastSequence: () => lastSequence,
    async close() {
      closed = true;
      markClosed();
      messagesNow?.stop();
      wakeSleeper?.();
      await loop;
    },
  };
}
