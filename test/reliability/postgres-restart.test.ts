import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { UserService } from "../../gen/mintcoin/user/v1/user_pb.js";
import { collectEvents, type EventCollector } from "../fixtures/events.js";
import { capturingDelivery } from "../fixtures/services.js";
import { startPostgres, waitFor, type PgInstance } from "../support/index.js";
import { adminQuery } from "../support/postgres.js";
import { missingCommittedChanges } from "./helpers/committed-state.js";
import { auditOnceDelivered } from "./helpers/event-oracle.js";
import { healthStatuses } from "./helpers/rpc-callers.js";
import { generousLimits, startStack, workloadTarget, type Stack } from "./helpers/stack.js";
import { recordSurvival } from "./helpers/survival-log.js";
import { emptyLedger, failures, runWorkload, summarize } from "./helpers/workload.js";

// Postgres is restarted (fast shutdown) and then crashed (SIGKILL of every Postgres process, crash
// recovery at start) under a stream of sign-ups and profile updates. Calls caught by it must fail
// with UNAVAILABLE, never INTERNAL; the services must reconnect by themselves; every change a
// client was told about must still be there, and every outbox row must reach JetStream exactly once.

describe("Postgres restarted and crashed under load", () => {
  let postgres: PgInstance;
  let stack: Stack;
  let events: EventCollector | undefined;
  const delivery = capturingDelivery();

  beforeAll(async () => {
    postgres = await startPostgres({ maxConnections: 100 });
    for (const name of ["auth", "users"]) await adminQuery(postgres.url(), `create database ${name}`);
    const keep = async () => {};
    stack = await startStack({
      databases: { auth: { url: postgres.url("auth"), drop: keep }, user: { url: postgres.url("users"), drop: keep } },
      authEnv: { ...generousLimits, DATABASE_POOL_SIZE: "8" },
      userEnv: { DATABASE_POOL_SIZE: "8" },
      authOverrides: { delivery },
    });
  });

  afterAll(async () => {
    await events?.close();
    await stack?.close();
    await postgres?.stop();
  });

  it("answers UNAVAILABLE while it is gone, reconnects by itself, and loses no acknowledged change or event", async () => {
    const target = workloadTarget(stack, async (identifier) => delivery.lastCode(identifier));
    let stopping = false;
    const ledger = emptyLedger();
    const load = runWorkload(
      { target: () => target, concurrency: 8, tag: "pg", stop: () => stopping, maxFlows: 3_000 },
      ledger,
    );
    const completedAfter = async (extra: number) => {
      const goal = ledger.flowsCompleted + extra;
      await waitFor(() => ledger.flowsCompleted >= goal, { timeoutMs: 45_000 });
    };

    await completedAfter(10);
    await postgres.restart();
    await completedAfter(15); // the services found the new Postgres by themselves
    await postgres.kill();
    await postgres.start();
    await completedAfter(15);
    stopping = true;
    await load;

    const failed = failures(ledger);
    expect(failed.length, "calls caught by the outages").toBeGreaterThan(0);
    expect(
      failed
        .filter((call) => call.code !== Code.Unavailable)
        .map((call) => `${call.step.rpc}: ${Code[call.code as Code]} ${call.message}`),
      summarize(ledger),
    ).toEqual([]);

    expect(await missingCommittedChanges(ledger, postgres.url("auth"), postgres.url("users"))).toEqual([]);

    events = await collectEvents(stack.nats.url);
    const audit = await auditOnceDelivered(ledger, events, [postgres.url("auth"), postgres.url("users")]);
    expect(audit.missing).toEqual([]);
    expect(audit.doubled).toEqual([]);
    expect(audit.duplicateIds).toEqual([]);

    await waitFor(
      async () => (await healthStatuses(stack.auth.baseUrl, AuthService)).every((status) => status === "SERVING"),
      { timeoutMs: 15_000 },
    );
    await waitFor(
      async () => (await healthStatuses(stack.user.baseUrl, UserService)).every((status) => status === "SERVING"),
      { timeoutMs: 15_000 },
    );

    recordSurvival({
      fault: "Postgres fast restart, then SIGKILL + crash recovery, under sign-up load",
      tried: `${ledger.flowsStarted} sign-ups, ${ledger.calls.length} calls; ${failed.length} caught by the outages (all UNAVAILABLE)`,
      times: 2,
      lost: `nothing: ${audit.checked} acknowledged calls all in the database, their events each delivered once`,
    });
  }, 150_000);
});
