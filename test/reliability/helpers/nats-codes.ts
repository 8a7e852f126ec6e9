// Reads one-time codes the way the notification service does: from the NOTIFY_OTP stream
// (OTP_DELIVERY=nats). For services running as separate processes, whose delivery a test cannot
// capture in memory. It follows the stream as the services follow theirs (followStream), so it
// survives NATS restarts and, given every member of a cluster, the loss of any one of them.
import { fromBinary } from "@bufbuild/protobuf";
import { DeliverPolicy } from "@nats-io/jetstream";
import { OtpDeliveryRequestSchema } from "../../../gen/mintcoin/events/v1/notify_pb.js";
import { createNatsLink } from "../../../services/shared/events/nats-link.js";
import { followStream } from "../../../services/shared/events/stream-follower.js";
import { streams } from "../../../services/shared/events/streams.js";
import { createLogger } from "../../../services/shared/logging.js";
import { waitFor } from "../../support/wait-for.js";

export interface CodeReader {
  /** The latest code delivered for `identifier`, waiting up to 10 s for it to arrive. */
  codeFor(identifier: string): Promise<string>;
  /** Every code delivered so far, for a log search. */
  codes(): string[];
  close(): Promise<void>;
}

/** `servers`: one server, or every member of a cluster. Creates NOTIFY_OTP (one replica) if it is missing. */
export async function readCodesFromNats(servers: string | readonly string[]): Promise<CodeReader> {
  const logger = createLogger("code-reader", process.env.TEST_LOG_LEVEL ?? "silent");
  const link = createNatsLink({
    servers: typeof servers === "string" ? [servers] : servers,
    name: "test-code-reader",
    streams: [streams.notify],
    replicas: 1,
    logger,
  });
  const latest = new Map<string, string>();
  const all: string[] = [];
  const follower = followStream({
    nats: link,
    logger,
    name: "code reader",
    stream: streams.notify.name,
    subject: "notify.otp.>",
    startAt: () => ({ deliver_policy: DeliverPolicy.All }),
    onMessage(message) {
      const request = fromBinary(OtpDeliveryRequestSchema, message.data);
      latest.set(request.identifier, request.code);
      all.push(request.code);
    },
  });
  await follower.ready;
  return {
    async codeFor(identifier) {
      return waitFor(() => latest.get(identifier) ?? "", { timeoutMs: 10_000, intervalMs: 10 });
    },
    codes: () => [...all],
    async close() {
      await follower.close();
      await link.close();
    },
  };
}
