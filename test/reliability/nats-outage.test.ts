import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectEvents, type EventCollector } from "../fixtures/events.js";
import { capturingDelivery } from "../fixtures/services.js";
import { startNats, waitFor, type NatsInstance } from "../support/index.js";
import { auditOnceDelivered } from "./helpers/event-oracle.js";
import { recordSurvival } from "./helpers/survival-log.js";
import { generousLimits, startStack, workloadTarget, type Stack } from "./helpers/stack.js";
import { emptyLedger, failures, runWorkload, summarize } from "./helpers/workload.js";

// NATS goes away for a few seconds in the middle of a stream of sign-ups and profile updates (codes
// go through a captured delivery, as an SMS provider would take them, so sign-ins need no NATS).
// No call may fail because of it, and once NATS is back every successful call's events arrive,
// each exactly once.

describe("NATS down during sign-ups and profile updates", () => {
  let nats: NatsInstance;
  let stack: Stack;
  let events: EventCollector | undefined;
  const delivery = capturingDelivery();

  beforeAll(async () => {
    nats = await startNats();
    stack = await startStack({ nats, authEnv: generousLimits, authOverrides: { delivery } });
  });

  afterAll(async () => {
    await events?.close();
    await stack?.close();
    await nats?.stop();
  });

  it("fails no call while NATS is down, and delivers every event exactly once after it returns", async () => {
    const target = workloadTarget(stack, async (identifier) => delivery.lastCode(identifier));
    let stopping = false;
    const ledger = emptyLedger();
    const load = runWorkload(
      { target: () => target, concurrency: 6, tag: "nats", stop: () => stopping, maxFlows: 2_000 },
      ledger,
    );

    await waitFor(() => ledger.flowsCompleted >= 10, { timeoutMs: 20_000 });
    await nats.stop();
    const downAt = Date.now();
    const completedBefore = ledger.flowsCompleted;
    // Down for as long as it takes to complete 30 more sign-ups (several seconds), bounded.
    await waitFor(() => ledger.flowsCompleted >= completedBefore + 30, { timeoutMs: 45_000 });
    await nats.start();
    const upAt = Date.now();
    await waitFor(() => ledger.flowsCompleted >= completedBefore + 40, { timeoutMs: 30_000 });
    stopping = true;
    await load;

    const duringOutage = ledger.calls.filter((call) => call.at >= downAt && call.at < upAt);
    expect(duringOutage.length, "calls made while NATS was down").toBeGreaterThan(60);
    expect(failures(ledger), summarize(ledger)).toEqual([]);

    events = await collectEvents(nats.url);
    const audit = await auditOnceDelivered(ledger, events);
    expect(audit.checked).toBe(ledger.calls.length);
    expect(audit.missing).toEqual([]);
    expect(audit.doubled).toEqual([]);
    expect(audit.duplicateIds).toEqual([]);
    recordSurvival({
      fault: "NATS stopped during sign-ups and profile updates",
      tried: `${ledger.flowsCompleted} sign-ups (${ledger.calls.length} calls, ${duringOutage.length} while NATS was down for ${((upAt - downAt) / 1000).toFixed(1)} s)`,
      times: 1,
      lost: `nothing: 0 failed calls, ${audit.checked} calls' events each delivered once, 0 duplicate ids`,
    });
  }, 120_000);
});
