// Reads one-time codes the way the notification service does: from the NOTIFY_OTP stream
// (OTP_DELIVERY=nats). For services running as separate processes, whose delivery a test cannot
// capture in memory.
import { fromBinary } from "@bufbuild/protobuf";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { OtpDeliveryRequestSchema } from "../../../gen/mintcoin/events/v1/notify_pb.js";
import { ensureStreams, streams } from "../../../services/shared/events/streams.js";
import { waitFor } from "../../support/wait-for.js";

export interface CodeReader {
  /** The latest code delivered for `identifier`, waiting up to 10 s for it to arrive. */
  codeFor(identifier: string): Promise<string>;
  /** Every code delivered so far, for a log search. */
  codes(): string[];
  close(): Promise<void>;
}

export async function readCodesFromNats(natsUrl: string): Promise<CodeReader> {
  const connection = await connect({ servers: natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  await ensureStreams(await jetstreamManager(connection), [streams.notify], 1);
  const latest = new Map<string, string>();
  const all: string[] = [];
  const consumer = await jetstream(connection).consumers.get(streams.notify.name);
  const messages = await consumer.consume();
  const reading = (async () => {
    for await (const message of messages) {
      const request = fromBinary(OtpDeliveryRequestSchema, message.data);
      latest.set(request.identifier, request.code);
      all.push(request.code);
    }
  })();
  return {
    async codeFor(identifier) {
      return waitFor(() => latest.get(identifier) ?? "", { timeoutMs: 10_000, intervalMs: 10 });
    },
    codes: () => [...all],
    async close() {
      await connection.close();
      await reading.catch(() => undefined);
    },
  };
}
