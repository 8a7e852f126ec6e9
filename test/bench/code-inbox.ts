// Where the benchmark's "users" read their one-time codes: from JetStream (notify.otp.*), exactly as
// the notification service does, or from the auth service's log when it runs without NATS
// (OTP_DELIVERY=log writes the code at warn level).
import { closeSync, openSync, readSync } from "node:fs";
import { fromBinary } from "@bufbuild/protobuf";
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { OtpDeliveryRequestSchema } from "../../gen/mintcoin/events/v1/notify_pb.js";
import { streams } from "../../services/shared/events/streams.js";

export interface CodeInbox {
  /** The next code sent to `identifier` (waits for it). */
  code(identifier: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

/** Codes by identifier, handed to whoever waits for them; a code that arrives first is kept. */
function mailbox() {
  const codes = new Map<string, string>();
  const waiters = new Map<string, (code: string) => void>();
  return {
    put(identifier: string, code: string) {
      const waiter = waiters.get(identifier);
      if (waiter) {
        waiters.delete(identifier);
        waiter(code);
      } else {
        codes.set(identifier, code);
      }
    },
    take(identifier: string, timeoutMs: number): Promise<string> {
      const ready = codes.get(identifier);
      if (ready !== undefined) {
        codes.delete(identifier);
        return Promise.resolve(ready);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(identifier);
          reject(new Error(`no code for ${identifier} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(identifier, (code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
    },
  };
}

export async function jetStreamInbox(natsUrl: string): Promise<CodeInbox> {
  const connection: NatsConnection = await connect({ servers: natsUrl });
  const box = mailbox();
  // The stream holds only notify.otp.* (no subject filter: filters need nats-server >= 2.10).
  const consumer = await jetstream(connection).consumers.get(streams.notify.name, {
    deliver_policy: DeliverPolicy.New,
  });
  const messages = await consumer.consume();
  const reading = (async () => {
    for await (const message of messages) {
      const request = fromBinary(OtpDeliveryRequestSchema, message.data);
      box.put(request.identifier, request.code);
    }
  })();
  return {
    code: (identifier, timeoutMs = 10_000) => box.take(identifier, timeoutMs),
    async close() {
      await messages.close();
      await connection.close();
      await reading.catch(() => undefined);
    },
  };
}

/** Follows the auth service's log file for "one-time code for <identifier>: <code>" lines. */
export function logFileInbox(logFile: string): CodeInbox {
  const box = mailbox();
  const fd = openSync(logFile, "r");
  let position = 0;
  let pending = "";
  const buffer = Buffer.alloc(1 << 20);
  const poll = setInterval(() => {
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, position);
      if (read === 0) break;
      position += read;
      pending += buffer.toString("utf8", 0, read);
    }
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const match = /one-time code for (\S+): (\d{6})/.exec(line);
      if (match) box.put(match[1]!, match[2]!);
    }
  }, 2);
  return {
    code: (identifier, timeoutMs = 10_000) => box.take(identifier, timeoutMs),
    async close() {
      clearInterval(poll);
      closeSync(fd);
    },
  };
}
