// Diagnostic: what one outbox relay drain costs its process in CPU, by batch size, with the relay's
// JetStream publisher (services/shared/events/pipelined-publish.ts: acknowledgements on one
// subscription) beside a publisher that makes each publish a request (`JetStreamClient.publish`, what
// the relay used before). Starts its own Postgres and NATS, then for each batch size alternates the
// two publishers block by block in one process, each block filling the outbox with a batch before
// every drain and counting only the drain (its transaction and its publishes). Prints the median CPU
// per drain and, between two batch sizes, per event.
// `npx tsx test/bench/relay-drain-cost.ts [drains per block]`.
import { randomUUID } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { createPipelinedPublish } from "../../services/shared/events/pipelined-publish.js";
import { createJetStreamPublisher, eventHeaders } from "../../services/shared/events/jetstream-publisher.js";
import { createLogger } from "../../services/shared/logging.js";
import { outboxMigrations } from "../../services/shared/outbox/outbox-migration.js";
import type { OutboxDatabase } from "../../services/shared/outbox/outbox-table.js";
import { createOutboxRelay, type OutboxPublisher } from "../../services/shared/outbox/relay.js";
import { startInfra } from "./infra.js";
import { median } from "../support/statistics.js";

const drainsPerBlock = Number(process.argv[2] ?? 100);
const blocks = 4;
const batchSizes = [1, 16, 64];

const infra = await startInfra(() => undefined);
const { url } = await infra.createDatabase("relay_drain_cost");
const db = new Kysely<OutboxDatabase>({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }),
});
// As the services connect (services/shared/events/nats-link.ts).
const nc = await connect({ servers: infra.natsUrl, noAsyncTraces: true });
try {
  for (const migration of Object.values(outboxMigrations)) await migration.up(db);
  await (await jetstreamManager(nc)).streams.add({ name: "RELAY_DRAIN_COST", subjects: ["relaydraincost.>"] });
  const js = jetstream(nc);
  const publishers: Record<string, OutboxPublisher> = {
    "shared subscription": createJetStreamPublisher(createPipelinedPublish(nc)),
    "request each": {
      async publish(message) {
        const h = eventHeaders(message.event_type);
        await js.publish(message.subject, message.payload, { msgID: message.id, headers: h, timeout: 5_000 });
      },
    },
  };
  const logger = createLogger("relay-drain-cost", "silent");
  const payload = new Uint8Array(120).fill(7);
  const fill = (count: number) =>
    db
      .insertInto("outbox")
      .values(
        Array.from({ length: count }, () => ({
          id: randomUUID(),
          subject: "relaydraincost.event",
          event_type: "mintcoin.events.v1.Example",
          payload,
        })),
      )
      .execute();

  /** CPU microseconds of each drain of `count` rows. */
  async function drains(publisher: OutboxPublisher, count: number, times: number): Promise<number[]> {
    const relay = createOutboxRelay({ db, publisher, logger, batchSize: count });
    const costs: number[] = [];
    for (let i = 0; i < times; i++) {
      await fill(count);
      const before = process.cpuUsage();
      const drained = await relay.drainOnce();
      const used = process.cpuUsage(before);
      if (drained !== count) throw new Error(`drained ${drained} rows, not ${count}`);
      costs.push(used.user + used.system);
    }
    return costs;
  }

  // Warm both paths (V8 compiles them on first use) before anything is counted.
  for (const publisher of Object.values(publishers)) await drains(publisher, 16, 100);
  const perDrain = new Map(Object.keys(publishers).map((name) => [name, new Map<number, number>()]));
  for (const size of batchSizes) {
    const samples = new Map(Object.keys(publishers).map((name) => [name, [] as number[]]));
    for (let block = 0; block < blocks; block++) {
      for (const [name, publisher] of Object.entries(publishers)) {
        samples.get(name)!.push(...(await drains(publisher, size, drainsPerBlock)));
      }
    }
    for (const [name, costs] of samples) perDrain.get(name)!.set(size, median(costs));
  }
  console.log(`CPU of one drain (median of ${blocks * drainsPerBlock}), microseconds; per event between batch sizes:`);
  for (const [name, bySize] of perDrain) {
    const drainsText = batchSizes.map((size) => `${size}: ${Math.round(bySize.get(size)!)}`).join(", ");
    const marginal = batchSizes
      .slice(1)
      .map((size, index) => {
        const smaller = batchSizes[index]!;
        return `${smaller}->${size}: ${((bySize.get(size)! - bySize.get(smaller)!) / (size - smaller)).toFixed(1)}`;
      })
      .join(", ");
    console.log(`  ${name.padEnd(20)} per drain ${drainsText}; per event ${marginal}`);
  }
} finally {
  await nc.close();
  await db.destroy();
  await infra.close();
}
