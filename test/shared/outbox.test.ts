import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { sql, type Kysely, type Migration } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { systemClock } from "../../services/shared/clock.js";
import { createDatabase, type DatabaseHandle } from "../../services/shared/database/create-database.js";
import { migrateToLatest } from "../../services/shared/database/migrate.js";
import { createPipelinedPublish } from "../../services/shared/events/pipelined-publish.js";
import { createJetStreamPublisher } from "../../services/shared/events/jetstream-publisher.js";
import { ensureStreams, streams } from "../../services/shared/events/streams.js";
import { createLogger } from "../../services/shared/logging.js";
import { outboxMigrations } from "../../services/shared/outbox/outbox-migration.js";
import { outboxRow, type OutboxRow } from "../../services/shared/outbox/outbox-rows.js";
import { insertOutboxRows, insertOutboxRowsWhere } from "../../services/shared/outbox/outbox-store.js";
import type { OutboxDatabase } from "../../services/shared/outbox/outbox-table.js";
import { createOutboxRelay, type OutboxPublisher } from "../../services/shared/outbox/relay.js";
import { collectEvents } from "../fixtures/events.js";
import { capturingDelivery, connectAuthClient, startAuth } from "../fixtures/services.js";
import { createTestDatabase, startNats, waitFor, type NatsInstance, type TestDatabase } from "../support/index.js";

const logger = createLogger("test", "silent");

/** `count` logout events, the index-th stamped with `timeOf(index)`. */
function logoutRows(count: number, timeOf: (index: number) => Date): OutboxRow[] {
  return Array.from({ length: count }, (_, index) =>
    outboxRow(timeOf(index), "auth.logout", { userId: `user-${index}`, sessionId: `s-${index}` }),
  );
}

describe("outbox relay", () => {
  let testDatabase: TestDatabase;
  let database: DatabaseHandle<OutboxDatabase>;
  let nats: NatsInstance;
  let connection: NatsConnection;

  beforeAll(async () => {
    [testDatabase, nats] = await Promise.all([createTestDatabase(), startNats()]);
    database = await createDatabase<OutboxDatabase>({ url: testDatabase.url, dataDir: "", poolSize: 10, logger });
    await migrateToLatest(database.db as Kysely<unknown>, outboxMigrations, logger);
    connection = await connect({ servers: nats.url });
    await ensureStreams(await jetstreamManager(connection), [streams.auth], 1);
  });

  afterAll(async () => {
    await connection?.close();
    await database?.close();
    await nats?.stop();
    await testDatabase?.drop();
  });

  /**
   * Writes `count` events in one transaction, a statement each, each stamped with `at()`; returns
   * their ids in order.
   */
  async function recordLogouts(count: number, at = () => systemClock.now()): Promise<string[]> {
    const rows = logoutRows(count, at);
    await database.db.transaction().execute(async (trx) => {
      for (const row of rows) await insertOutboxRows(trx, [row]);
    });
    return rows.map((row) => row.id);
  }

  async function streamMessageIds(): Promise<string[]> {
    const consumer = await jetstream(connection).consumers.get(streams.auth.name);
    const info = await (await jetstreamManager(connection)).streams.info(streams.auth.name);
    const ids: string[] = [];
    if (info.state.messages === 0) return ids;
    const messages = await consumer.fetch({ max_messages: info.state.messages, expires: 2_000 });
    for await (const message of messages) {
      ids.push(message.headers?.get("Nats-Msg-Id") ?? "");
      if (message.info.pending === 0) break;
    }
    return ids;
  }

  async function purgeStream(): Promise<void> {
    await (await jetstreamManager(connection)).streams.purge(streams.auth.name);
  }

  it("lets two relays share the work without publishing any row twice", async () => {
    await purgeStream();
    const ids = await recordLogouts(300);
    const published: string[] = [];
    const counting = (): OutboxPublisher => {
      const inner = createJetStreamPublisher(createPipelinedPublish(connection));
      return {
        async publish(message) {
          published.push(message.id);
          await inner.publish(message);
        },
      };
    };
    const relays = [1, 2].map(() =>
      createOutboxRelay({ db: database.db, publisher: counting(), logger, batchSize: 25 }),
    );
    // Both drain at the same time until nothing is left.
    await Promise.all(
      relays.map(async (relay) => {
        while ((await relay.drainOnce()) > 0);
      }),
    );
    expect(published.length).toBe(300);
    expect(new Set(published)).toEqual(new Set(ids));
    const pending = await database.db.selectFrom("outbox").select("id").where("sent_at", "is", null).execute();
    expect(pending).toEqual([]);
    expect((await streamMessageIds()).sort()).toEqual([...ids].sort());
  });

  it("publishes rows in the order they were inserted, also when they share one time", async () => {
    await purgeStream();
    // One transaction's events share its time, and so does everything a clock that stands still stamps;
    // the ids are random, so only the insertion order can say which came first.
    const at = new Date();
    const ids = [...(await recordLogouts(20, () => at)), ...(await recordLogouts(20, () => at))];
    // Several rows in one statement, in both forms the services write: plain values, and rows each
    // written only when its condition holds.
    const together = logoutRows(10, () => at);
    await insertOutboxRows(database.db, together);
    const conditional = logoutRows(10, () => at).map((row, index) => ({
      row,
      when: index % 3 === 0 ? sql`false` : sql`true`,
    }));
    await insertOutboxRowsWhere(conditional).execute(database.db);
    ids.push(
      ...together.map((row) => row.id),
      ...conditional.filter((_, index) => index % 3 !== 0).map(({ row }) => row.id),
    );
    const relay = createOutboxRelay({
      db: database.db,
      publisher: createJetStreamPublisher(createPipelinedPublish(connection)),
      logger,
      batchSize: 7,
    });
    while ((await relay.drainOnce()) > 0);
    expect(await streamMessageIds()).toEqual(ids);
  });

  it("re-publishes a row whose publish succeeded but whose commit did not, and JetStream drops the duplicate", async () => {
    await purgeStream();
    const [id] = await recordLogouts(1);
    const jetStream = createJetStreamPublisher(createPipelinedPublish(connection));
    // Publishes, then dies before the row is marked sent: as a crash between the two would.
    const crashing = createOutboxRelay({
      db: database.db,
      logger,
      publisher: {
        async publish(message) {
          await jetStream.publish(message);
          throw new Error("process died after publishing");
        },
      },
    });
    await expect(crashing.drainOnce()).rejects.toThrow();
    const healthy = createOutboxRelay({ db: database.db, publisher: jetStream, logger });
    expect(await healthy.drainOnce()).toBe(1);
    expect(await streamMessageIds()).toEqual([id]);
  });
});

describe("the migration that numbers the outbox", () => {
  it("numbers the events still unsent in time order, wherever they lie on disk", async () => {
    const testDatabase = await createTestDatabase();
    const database = await createDatabase<OutboxDatabase>({ url: testDatabase.url, dataDir: "", poolSize: 2, logger });
    try {
      const [[firstName, first]] = Object.entries(outboxMigrations) as [[string, Migration]];
      await migrateToLatest(database.db as Kysely<unknown>, { [firstName]: first }, logger);
      // Written newest first: on disk in the reverse of their time order, as rows put back after failed
      // publishes can be.
      const start = Date.now();
      const rows = logoutRows(10, (index) => new Date(start - index * 1_000));
      await insertOutboxRows(database.db, rows);
      await migrateToLatest(database.db as Kysely<unknown>, outboxMigrations, logger);

      const published: string[] = [];
      const relay = createOutboxRelay({
        db: database.db,
        logger,
        publisher: {
          async publish(message) {
            published.push(message.id);
          },
        },
      });
      expect(await relay.drainOnce()).toBe(10);
      expect(published).toEqual(rows.map((row) => row.id).reverse());
    } finally {
      await database.close();
      await testDatabase.drop();
    }
  });
});

describe("events while NATS is down", () => {
  it("are kept in the outbox and published exactly once when NATS returns", async () => {
    const [testDatabase, nats] = await Promise.all([createTestDatabase(), startNats()]);
    const delivery = capturingDelivery();
    const auth = await startAuth({ AUTH_DATABASE_URL: testDatabase.url, NATS_URL: nats.url }, { delivery });
    try {
      await waitFor(() => auth.handle.runtime.relay() !== undefined);
      await nats.kill();
      const client = connectAuthClient(auth.baseUrl);
      const identifiers = ["outage1@example.com", "outage2@example.com", "outage3@example.com"];
      for (const identifier of identifiers) {
        // None of these fail because NATS is down: the event waits in the outbox.
        await client.sendOtp({
          identifier,
          identifierType: IdentifierType.EMAIL,
          purpose: OtpPurpose.LOGIN,
          deviceId: "d",
        });
      }
      const pending = await auth.handle.runtime.db
        .selectFrom("outbox")
        .select("id")
        .where("sent_at", "is", null)
        .execute();
      expect(pending.length).toBe(3);

      await nats.start();
      const events = await collectEvents(nats.url);
      try {
        const sent = await events.waitForEvents("auth.otp.sent", 3, 20_000);
        expect(sent.map((event) => event.identifier).sort()).toEqual(identifiers);
        // Exactly once: no event id twice, even after the relay's retries.
        await waitFor(
          async () => {
            const left = await auth.handle.runtime.db
              .selectFrom("outbox")
              .select("id")
              .where("sent_at", "is", null)
              .execute();
            return left.length === 0;
          },
          { timeoutMs: 10_000 },
        );
        const ids = events.events.filter((event) => event.subject === "auth.otp.sent").map((event) => event.msgId);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.length).toBe(3);
      } finally {
        await events.close();
      }
    } finally {
      await auth.close();
      await nats.stop();
      await testDatabase.drop();
    }
  });

  it("without NATS_URL the service still serves, and its events wait in the outbox", async () => {
    const testDatabase = await createTestDatabase();
    const auth = await startAuth({ AUTH_DATABASE_URL: testDatabase.url }, { delivery: capturingDelivery() });
    try {
      await connectAuthClient(auth.baseUrl).sendOtp({
        identifier: "no-nats@example.com",
        identifierType: IdentifierType.EMAIL,
        purpose: OtpPurpose.LOGIN,
        deviceId: "d",
      });
      const rows = await auth.handle.runtime.db.selectFrom("outbox").select(["subject", "sent_at"]).execute();
      expect(rows).toEqual([{ subject: "auth.otp.sent", sent_at: null }]);
    } finally {
      await auth.close();
      await testDatabase.drop();
    }
  });
});
