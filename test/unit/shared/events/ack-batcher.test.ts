import { describe, expect, it } from "vitest";
import { createAckBatcher } from "../../../../services/shared/events/ack-batcher.js";

// Acks wait for the end of the event-loop turn and leave together; flush() sends what is pending at once.

function message(log: string[], name: string) {
  return { ack: () => void log.push(name) };
}

const endOfTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("ack batcher", () => {
  it("acks nothing during the turn, then every message of the turn together, in order", async () => {
    const log: string[] = [];
    const acks = createAckBatcher(() => undefined);
    acks.ack(message(log, "a"));
    await Promise.resolve();
    acks.ack(message(log, "b"));
    expect(log).toEqual([]);
    await endOfTurn();
    expect(log).toEqual(["a", "b"]);
  });

  it("acks each message once, and messages of a later turn in a later batch", async () => {
    const log: string[] = [];
    const acks = createAckBatcher(() => undefined);
    acks.ack(message(log, "a"));
    await endOfTurn();
    acks.ack(message(log, "b"));
    await endOfTurn();
    await endOfTurn();
    expect(log).toEqual(["a", "b"]);
  });

  it("flush acks what is pending at once, and the scheduled turn then has nothing left", async () => {
    const log: string[] = [];
    const acks = createAckBatcher(() => undefined);
    acks.ack(message(log, "a"));
    acks.flush();
    expect(log).toEqual(["a"]);
    await endOfTurn();
    expect(log).toEqual(["a"]);
  });

  it("reports an ack that throws (a closed connection) and still acks the rest of the batch", async () => {
    const log: string[] = [];
    const failures: unknown[] = [];
    const acks = createAckBatcher((error) => failures.push(error));
    acks.ack({
      ack: () => {
        throw new Error("connection closed");
      },
    });
    acks.ack(message(log, "b"));
    await endOfTurn();
    expect(failures).toEqual([new Error("connection closed")]);
    expect(log).toEqual(["b"]);
  });
});
