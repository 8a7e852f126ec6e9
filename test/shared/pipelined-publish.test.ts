import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPipelinedPublish, type JetStreamPublish } from "../../services/shared/events/pipelined-publish.js";
import { startNats, type NatsInstance } from "../support/index.js";

// Every event and every code leaves the services through this publish, so what it calls success
// must be what the stream stored, and every other outcome must be a failure the caller retries.

const stream = "PUBLISHED";
const encoder = new TextEncoder();

describe("a JetStream publish acknowledged on a shared subscription", () => {
  let nats: NatsInstance;
  let connection: NatsConnection;
  let publish: JetStreamPublish;

  beforeAll(async () => {
    nats = await startNats();
    connection = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(connection);
    await jsm.streams.add({ name: stream, subjects: ["published.>"], max_msg_size: 1_024, duplicate_window: 60e9 });
    publish = createPipelinedPublish(connection);
  });

  afterAll(async () => {
    await connection?.close();
    await nats?.stop();
  });

  const options = (msgId: string, timeoutMs = 5_000) => ({ msgId, headers: headers(), timeoutMs });

  async function stored(subject: string): Promise<Array<{ id: string | undefined; data: string }>> {
    const jsm = await jetstreamManager(connection);
    const { state } = await jsm.streams.info(stream, { subjects_filter: subject });
    const found = [];
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (message?.subject !== subject) continue;
      found.push({ id: message.header?.get("Nats-Msg-Id"), data: message.string() });
    }
    return found;
  }

  it("resolves once the stream has stored the message, in the order the publishes were made", async () => {
    const ids = Array.from({ length: 100 }, (_, index) => `ordered-${index}`);
    await Promise.all(ids.map((id) => publish("published.ordered", encoder.encode(id), options(id))));
    expect(await stored("published.ordered")).toEqual(ids.map((id) => ({ id, data: id })));
  });

  it("treats a message the stream already has (same Nats-Msg-Id) as published, and stores it once", async () => {
    await publish("published.twice", encoder.encode("first"), options("twice"));
    await publish("published.twice", encoder.encode("again"), options("twice"));
    expect(await stored("published.twice")).toEqual([{ id: "twice", data: "first" }]);
  });

  it("fails when no stream takes the subject", async () => {
    await expect(publish("unstreamed.subject", encoder.encode("x"), options("nowhere"))).rejects.toThrow(
      "no JetStream stream takes unstreamed.subject (no responders)",
    );
  });

  it("fails with the stream's reason when the stream refuses the message", async () => {
    await expect(publish("published.big", new Uint8Array(4_096), options("too-big"))).rejects.toThrow(
      /JetStream refused published\.big: .*maximum/,
    );
    expect(await stored("published.big")).toEqual([]);
  });

  it("fails after its timeout when nothing acknowledges, and ignores an acknowledgement that comes later", async () => {
    // A plain subscriber takes the subject (so the server answers no "no responders") and never replies.
    const silent = connection.subscribe("silent.subject", { max: 1 });
    await connection.flush();
    await expect(publish("silent.subject", encoder.encode("x"), options("unanswered", 200))).rejects.toThrow(
      "no acknowledgement for silent.subject within 200 ms",
    );
    for await (const late of silent) late.respond(encoder.encode(JSON.stringify({ stream, seq: 1 })));
    // The stray answer has come back on the connection (the server answers a flush after it).
    await connection.flush();
    // The publisher still works after it.
    await publish("published.after-late", encoder.encode("ok"), options("after-late"));
    expect(await stored("published.after-late")).toEqual([{ id: "after-late", data: "ok" }]);
  });

  it("fails, and goes on reading, when the answer is not a stream's acknowledgement", async () => {
    // What a plain service on a subject the publisher thought was a stream's might answer.
    const answers: Array<[Uint8Array, string]> = [
      [encoder.encode("null"), "with something that is not an acknowledgement"],
      [encoder.encode("42"), "with something that is not an acknowledgement"],
      [encoder.encode("not json"), "with something that is not an acknowledgement"],
      [new Uint8Array(0), "with something that is not an acknowledgement"],
      [encoder.encode("{}"), "without naming a stream"],
      [encoder.encode('{"stream":""}'), "without naming a stream"],
      [encoder.encode('{"error":"broken"}'), "refused impostor.subject: no description (no code)"],
    ];
    const impostor = connection.subscribe("impostor.subject", {
      callback: (_error, message) => void message.respond(answers[Number(message.string())]![0]),
    });
    await connection.flush();
    for (const [index, [, reason]] of answers.entries()) {
      await expect(
        publish("impostor.subject", encoder.encode(String(index)), options(`impostor-${index}`)),
      ).rejects.toThrow(reason);
    }
    impostor.unsubscribe();
    await publish("published.after-impostor", encoder.encode("ok"), options("after-impostor"));
    expect(await stored("published.after-impostor")).toEqual([{ id: "after-impostor", data: "ok" }]);
  });

  it("refuses to publish while the connection drains: the acknowledgement would be dropped", async () => {
    const own = await connect({ servers: nats.url });
    const ownPublish = createPipelinedPublish(own);
    const draining = own.drain();
    await expect(ownPublish("published.draining", encoder.encode("x"), options("draining"))).rejects.toThrow(
      "cannot publish published.draining: the NATS connection is closing",
    );
    await draining;
    expect(await stored("published.draining")).toEqual([]);
  });

  it("fails every waiting publish when the connection closes, and every later one at once", async () => {
    const own = await connect({ servers: nats.url });
    const ownPublish = createPipelinedPublish(own);
    // Answered only after the close: the subscriber holds its reply.
    const holder = await connect({ servers: nats.url });
    const held = holder.subscribe("held.subject", { max: 1 });
    await holder.flush();
    // The expectation is attached before the close, which is what rejects the publish: a rejection
    // with no handler yet would fail the run.
    const waiting = expect(ownPublish("held.subject", encoder.encode("x"), options("held", 30_000))).rejects.toThrow(
      "no acknowledgement for held.subject: the NATS connection closed",
    );
    for await (const _ of held) await own.close();
    await waiting;
    await expect(ownPublish("published.closed", encoder.encode("x"), options("closed"))).rejects.toThrow(
      "cannot publish published.closed: the NATS connection closed",
    );
    await holder.close();
    expect(await jetstream(connection).publish("published.alive", encoder.encode("y"))).toMatchObject({ stream });
  });
});
