import { PubHeaders, type PubAck } from "@nats-io/jetstream";
import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";

export interface JetStreamPublishOptions {
  /** `Nats-Msg-Id`: JetStream drops a second message with this id inside the stream's duplicate window. */
  msgId: string;
  /** The message's own headers (content and event type); `Nats-Msg-Id` is added to them. */
  headers: MsgHdrs;
  /** How long to wait for the stream's acknowledgement before the publish fails. */
  timeoutMs: number;
}

/** Publishes one message to JetStream; resolves once the stream has stored it (or already had it). */
export type JetStreamPublish = (
  subject: string,
  payload: Uint8Array,
  options: JetStreamPublishOptions,
) => Promise<void>;

/**
 * The publish's failure: no stream for the subject, a refusal, an answer that is not an
 * acknowledgement, no answer in time, or a connection closed or closing.
 */
export class JetStreamPublishError extends Error {}

/**
 * JetStream publishes whose acknowledgements come back on one subscription of this connection, as
 * the Go client's PublishAsync does. `JetStreamClient.publish` of @nats-io/jetstream 3.4 is a
 * `request` each: per message a reply registration, a timer and an `Error` with its stack (made
 * when the request completes, even a successful one). With acknowledgements on one subscription a
 * relay's drain of 16 or 64 events costs about 25-40% less CPU (`test/bench/relay-drain-cost.ts`,
 * docs/performance.md, "The relay's cost"). Acknowledgements are matched by their reply subject; a
 * message whose acknowledgement never comes fails after `timeoutMs` and is published again by its
 * caller under the same `Nats-Msg-Id`, which JetStream de-duplicates.
 *
 * The subscription is re-made by the client after a reconnect; acknowledgements lost with the old
 * connection time out. Once the connection is closed every waiting publish fails at once. So does
 * every publish after the subscription itself failed (the server closes it on a permissions error
 * for the inbox): the relay keeps its rows and says so in its log, and a restart with the permission
 * fixed publishes them.
 */
export function createPipelinedPublish(connection: NatsConnection): JetStreamPublish {
  const prefix = createInbox();
  const waiting = new Map<string, Waiting>();
  let sequence = 0;
  let closedBecause: string | undefined;

  // Runs on the client's read loop: it must not throw (an exception there stops the connection
  // reading), and every entry it takes out of `waiting` must be settled.
  const settle = (error: Error | null, message: Msg | undefined) => {
    if (error || !message) return failAll(`the acknowledgement subscription failed: ${error?.message ?? "closed"}`);
    const entry = waiting.get(message.subject);
    // A late acknowledgement of a publish that already timed out (and will be published again).
    if (!entry) return;
    waiting.delete(message.subject);
    clearTimeout(entry.timer);
    let refusal: JetStreamPublishError | undefined;
    try {
      refusal = refusalOf(message, entry.subject);
    } catch (cause) {
      refusal = new JetStreamPublishError(`JetStream's answer to ${entry.subject} could not be read`, { cause });
    }
    if (refusal) entry.reject(refusal);
    else entry.resolve();
  };
  const subscription = connection.subscribe(`${prefix}.*`, { callback: settle });
  void subscription.closed.then((reason) =>
    failAll(
      reason instanceof Error
        ? `the acknowledgement subscription failed: ${reason.message}`
        : "the NATS connection closed",
    ),
  );

  function failAll(reason: string): void {
    closedBecause ??= reason;
    for (const [reply, entry] of waiting) {
      waiting.delete(reply);
      clearTimeout(entry.timer);
      entry.reject(new JetStreamPublishError(`no acknowledgement for ${entry.subject}: ${reason}`));
    }
  }

  /** Why a publish cannot go out now, if it cannot. */
  function unavailable(): string | undefined {
    if (closedBecause) return closedBecause;
    // A drain unsubscribes before its last flush: a message sent now would be stored, its
    // acknowledgement dropped, and the publish reported failed.
    if (connection.isClosed()) return "the NATS connection closed";
    if (connection.isDraining()) return "the NATS connection is closing";
    return undefined;
  }

  return (subject, payload, options) => {
    const reason = unavailable();
    if (reason) return Promise.reject(new JetStreamPublishError(`cannot publish ${subject}: ${reason}`));
    return new Promise<void>((resolve, reject) => {
      const reply = `${prefix}.${(sequence++).toString(36)}`;
      const timer = setTimeout(() => {
        waiting.delete(reply);
        reject(new JetStreamPublishError(`no acknowledgement for ${subject} within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      waiting.set(reply, { subject, resolve, reject, timer });
      try {
        options.headers.set(PubHeaders.MsgIdHdr, options.msgId);
        connection.publish(subject, payload, { reply, headers: options.headers });
      } catch (error) {
        waiting.delete(reply);
        clearTimeout(timer);
        reject(new JetStreamPublishError(`cannot publish ${subject}: ${String(error)}`, { cause: error }));
      }
    });
  };
}

interface Waiting {
  subject: string;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** The error of a JetStream API answer (`{"error": {"code": 400, "err_code": 10054, "description": ...}}`). */
interface ApiErrorFields {
  code?: number;
  err_code?: number;
  description?: string;
}

/**
 * Why the stream did not store the message, or undefined when it did (a duplicate included): anything
 * but a stream's acknowledgement is a refusal.
 */
function refusalOf(message: Msg, subject: string): JetStreamPublishError | undefined {
  // The server's own answer when nothing listens on the subject: no stream takes it (or JetStream is off).
  if (message.data.length === 0 && message.headers?.code === 503) {
    return new JetStreamPublishError(`no JetStream stream takes ${subject} (no responders)`);
  }
  let ack: unknown;
  try {
    ack = message.json();
  } catch {
    ack = undefined;
  }
  if (typeof ack !== "object" || ack === null) {
    return new JetStreamPublishError(`JetStream answered ${subject} with something that is not an acknowledgement`);
  }
  const { error, stream } = ack as Partial<PubAck> & { error?: unknown };
  if (error !== undefined) {
    const detail = (typeof error === "object" && error !== null ? error : {}) as ApiErrorFields;
    const code = detail.err_code ?? detail.code ?? "no code";
    return new JetStreamPublishError(
      `JetStream refused ${subject}: ${detail.description ?? "no description"} (${code})`,
    );
  }
  if (typeof stream !== "string" || stream === "") {
    return new JetStreamPublishError(`JetStream answered ${subject} without naming a stream`);
  }
  return undefined;
}
