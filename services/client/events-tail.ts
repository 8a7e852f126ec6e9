// `npm run events -- [subject] [--from-start]`: prints the identity services' events as they are
// published, one JSON line each: {subject, id, time, type, seq, message}. The subject is a NATS
// pattern (`auth.>`, `user.suspended`, `*.login`; default `>`, every auth and user event). Without
// --from-start only new events are shown; with it the streams are replayed from their first event.
// NATS_URL picks the server (default nats://127.0.0.1:4222).
//
// It is also the smallest example of a consumer: protobuf payloads decoded by subject with the event
// catalog. It uses an ordered consumer (ephemeral, no acks), which is right for watching; a service
// that acts on events wants a durable consumer with explicit acks instead (see docs/events.md).
import { createRegistry, fromBinary, toJson } from "@bufbuild/protobuf";
import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { eventCatalog, schemaForSubject } from "../shared/events/catalog.js";
import { ensureStreams, streams } from "../shared/events/streams.js";
import { intersectSubjects } from "./subjects.js";

const args = process.argv.slice(2);
const fromStart = args.includes("--from-start");
const pattern = args.find((arg) => !arg.startsWith("--")) ?? ">";
const natsUrl = process.env.NATS_URL || "nats://127.0.0.1:4222";

// NOTIFY_OTP is left out on purpose: its messages carry one-time codes, for the notification service only.
const tailedStreams = [streams.auth, streams.user];
const registry = createRegistry(...Object.values(eventCatalog));

const connection = await connect({ servers: natsUrl, name: "mintcoin-events-tail" });
// Streams are created by the services at start; creating missing ones here lets the tail start first.
await ensureStreams(await jetstreamManager(connection), tailedStreams, 1);
const js = jetstream(connection);

const tails: Array<Promise<void>> = [];
const watched: string[] = [];
for (const stream of tailedStreams) {
  const filter = intersectSubjects(pattern, stream.subjects[0]);
  if (filter === undefined) continue;
  const consumer = await js.consumers.get(stream.name, {
    filter_subjects: filter,
    deliver_policy: fromStart ? DeliverPolicy.All : DeliverPolicy.New,
  });
  watched.push(`${filter} (${stream.name})`);
  tails.push(
    (async () => {
      for await (const message of await consumer.consume()) print(message);
    })(),
  );
}
if (watched.length === 0) {
  process.stderr.write(`no identity stream carries "${pattern}" (streams: auth.>, user.>)\n`);
  process.exit(2);
}
process.stderr.write(`tailing ${watched.join(", ")}: ${fromStart ? "from the start" : "new events only"}\n`);

function print(message: JsMsg): void {
  const schema = schemaForSubject(message.subject);
  const line: Record<string, unknown> = {
    subject: message.subject,
    id: message.headers?.get("Nats-Msg-Id") ?? null,
    time: message.time.toISOString(),
    type: message.headers?.get("Event-Type") ?? schema?.typeName ?? null,
    seq: message.seq,
  };
  try {
    if (!schema) throw new Error("no message type for this subject in the event catalog");
    const event = toJson(schema, fromBinary(schema, message.data), { registry }) as Record<string, unknown>;
    // The event's own time (when the change committed) rather than when JetStream stored it.
    if (typeof event.occurredAt === "string") line.time = event.occurredAt;
    line.message = event;
  } catch (error) {
    line.error = String(error);
    line.payload = Buffer.from(message.data).toString("base64");
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const stop = () => void connection.close();
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
process.stdout.on("error", stop); // e.g. `npm run events | head`
await Promise.all(tails);
await connection.closed();
