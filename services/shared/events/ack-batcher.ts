import type { JsMsg } from "@nats-io/jetstream";

export interface AckBatcher {
  /** Acknowledges `message` at the end of this event-loop turn, with every other message acked in it. */
  ack(message: Pick<JsMsg, "ack">): void;
  /** Acknowledges what is pending now (before the consumer stops). */
  flush(): void;
}

/**
 * Acknowledges JetStream messages together, once per event-loop turn, instead of one by one. Each ack
 * is a publish, and the NATS client writes what is pending once per microtask turn: a consumer that
 * awaits its handler between messages would write every ack alone, a system call and a wake-up of
 * the server per event (in a busy consumer, most of its CPU). Deferred to `setImmediate`, the acks of
 * every message handled in one turn leave in one write. A crash before that write redelivers those
 * messages, as a crash between handling and acking always could: handlers are idempotent by event id.
 * An ack that fails (the connection closed) is reported to `onAckFailed`, and its message redelivered.
 */
export function createAckBatcher(onAckFailed: (error: unknown) => void): AckBatcher {
  let pending: Pick<JsMsg, "ack">[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    const batch = pending;
    pending = [];
    for (const message of batch) {
      // ack() throws once the connection is closed or draining. Outside the consumer loop's own
      // try/catch here, a throw would end the process and skip the rest of the batch; a message left
      // unacknowledged is only redelivered.
      try {
        message.ack();
      } catch (error) {
        onAckFailed(error);
      }
    }
  }

  return {
    ack(message) {
      pending.push(message);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
