// The relay-lag receiver, run as its own process (scenarios/relay-lag.ts starts it through the
// harness's spawner): it subscribes to the auth events on JetStream and records, per event, the
// time from the event's occurred_at to its receipt here. A process of its own, so that the load
// generator's event loop does not delay the receipt (it did when the benchmark received the events
// itself). Over IPC: {take} answers {lags, lastReceivedAt} with the lags since the previous take.
import { fromBinary, type DescMessage } from "@bufbuild/protobuf";
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { eventCatalog, type EventSubject } from "../../services/shared/events/catalog.js";
import { streams } from "../../services/shared/events/streams.js";

const natsUrl = process.argv[2];
if (!natsUrl || !process.send) throw new Error("usage: event-receiver.ts NATS_URL (with an IPC channel)");

const connection = await connect({ servers: natsUrl });
const consumer = await jetstream(connection).consumers.get(streams.auth.name, { deliver_policy: DeliverPolicy.New });
const messages = await consumer.consume();
let lags: number[] = [];
let lastReceivedAt = 0;

process.on("message", (message: { take?: boolean }) => {
  if (!message.take) return;
  process.send?.({ lags, lastReceivedAt });
  lags = [];
});
// The benchmark going away (the IPC channel closing) ends us.
process.on("disconnect", () => {
  void messages
    .close()
    .then(() => connection.close())
    .finally(() => process.exit(0));
});
process.send({ ready: true });

for await (const message of messages) {
  // Date.now() at once, before decoding: the event loop here does nothing else.
  const received = Date.now();
  lastReceivedAt = received;
  const schema = eventCatalog[message.subject as EventSubject] as DescMessage | undefined;
  if (!schema) continue;
  const event = fromBinary(schema, message.data) as { occurredAt?: Timestamp };
  if (event.occurredAt) lags.push(received - timestampMs(event.occurredAt));
}
