import { connect as tcpConnect } from "node:net";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService, IdentifierType, OtpPurpose } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { collectEvents, type EventCollector } from "../fixtures/events.js";
import { connectAuthClient, connectUserClient } from "../fixtures/services.js";
import {
  createTestDatabase,
  lockWaiters,
  startNats,
  waitFor,
  type NatsInstance,
  type TestDatabase,
} from "../support/index.js";
import { freePort } from "../support/server-process.js";
import { type ServiceProcess, startServiceProcess } from "../support/service-process.js";
import { missingCommittedChanges } from "./helpers/committed-state.js";
import { auditOnceDelivered } from "./helpers/event-oracle.js";
import { readCodesFromNats, type CodeReader } from "./helpers/nats-codes.js";
import { recordSurvival } from "./helpers/survival-log.js";
import { emptyLedger, failures, runWorkload, summarize, type WorkloadTarget } from "./helpers/workload.js";

// Both services as real processes (services/*/main.ts, with the node flags of the start scripts). SIGKILL in the middle of a stream of sign-ups,
// then a restart: the outbox relay picks up where the dead process stopped, and nothing acknowledged
// is lost or delivered twice. SIGTERM: calls already in the handler finish, new connections are
// refused, and the process exits 0.

describe("service processes killed and stopped", () => {
  let nats: NatsInstance;
  let authDatabase: TestDatabase;
  let userDatabase: TestDatabase;
  let auth: ServiceProcess | undefined;
  let user: ServiceProcess | undefined;
  let codes: CodeReader;
  let events: EventCollector | undefined;

  beforeAll(async () => {
    [nats, authDatabase, userDatabase] = await Promise.all([startNats(), createTestDatabase(), createTestDatabase()]);
    const common = { NATS_URL: nats.url, LOG_LEVEL: "info", SHUTDOWN_GRACE_PERIOD: "20s" };
    auth = await startServiceProcess("auth", {
      from: "source",
      inherit: process.env,
      env: {
        ...common,
        AUTH_DATABASE_URL: authDatabase.url,
        OTP_DELIVERY: "nats",
        OTP_RATE_LIMIT_MAX_REQUESTS: "1000000",
        OTP_IP_RATE_LIMIT_MAX_REQUESTS: "1000000",
        // Room for the ten SendOtp statements the SIGTERM test holds, beside the background work.
        DATABASE_POOL_SIZE: "20",
      },
    });
    user = await startServiceProcess("user", {
      from: "source",
      inherit: process.env,
      env: { ...common, USER_DATABASE_URL: userDatabase.url, AUTH_JWKS_URL: `${auth.baseUrl}/.well-known/jwks.json` },
    });
    codes = await readCodesFromNats(nats.url);
  }, 90_000);

  afterAll(async () => {
    await events?.close();
    await codes?.close();
    await user?.stop();
    await auth?.stop();
    await nats?.stop();
    await Promise.allSettled([authDatabase?.drop(), userDatabase?.drop()]);
  });

  it("SIGKILL of each service mid-load, then a restart: the relay resumes, nothing acknowledged is lost or delivered twice", async () => {
    const target: WorkloadTarget = {
      auth: connectAuthClient(auth!.baseUrl),
      users: connectUserClient(user!.baseUrl),
      codeFor: (identifier) => codes.codeFor(identifier),
    };
    let stopping = false;
    const ledger = emptyLedger();
    const load = runWorkload(
      { target: () => target, concurrency: 6, tag: "kill", stop: () => stopping, maxFlows: 3_000 },
      ledger,
    );
    const completedAfter = async (extra: number) => {
      const goal = ledger.flowsCompleted + extra;
      await waitFor(() => ledger.flowsCompleted >= goal, { timeoutMs: 60_000 }).catch((error: unknown) => {
        const recent = failures(ledger)
          .slice(-5)
          .map((call) => `${call.step.rpc} ${Code[call.code as Code]} ${call.message}`);
        const tail = (service: ServiceProcess) => service.log().split("\n").slice(-15).join("\n");
        throw new Error(
          `load stalled at ${ledger.flowsCompleted} flows (${summarize(ledger)}); last failures: ${recent.join(" | ")}\n` +
            `auth exits: ${auth!.exits.join("; ")}; user exits: ${user!.exits.join("; ")}\nauth log:\n${tail(auth!)}\nuser log:\n${tail(user!)}`,
          { cause: error },
        );
      });
    };

    await completedAfter(10);
    expect((await auth!.signal("SIGKILL")).signal).toBe("SIGKILL");
    await auth!.start();
    await completedAfter(10);
    expect((await user!.signal("SIGKILL")).signal).toBe("SIGKILL");
    await user!.start();
    await completedAfter(10);
    stopping = true;
    await load;

    expect(failures(ledger).length, `calls caught by the kills: ${summarize(ledger)}`).toBeGreaterThan(0);
    // A call cut off by a dying process fails in the client (ABORTED, UNAVAILABLE, or INTERNAL for a
    // truncated answer); what a live server answers is never INTERNAL.
    const serverInternal = failures(ledger).filter(
      (call) => call.code === Code.Internal && /^internal error/.test(call.message),
    );
    expect(serverInternal.map((call) => `${call.step.rpc}: ${call.message}`)).toEqual([]);
    expect(await missingCommittedChanges(ledger, authDatabase.url, userDatabase.url)).toEqual([]);
    events = await collectEvents(nats.url);
    const audit = await auditOnceDelivered(ledger, events, [authDatabase.url, userDatabase.url]);
    expect(audit.missing).toEqual([]);
    expect(audit.doubled).toEqual([]);
    expect(audit.duplicateIds).toEqual([]);
    const failureCodes = [...new Set(failures(ledger).map((call) => Code[call.code as Code]))].join(", ");
    recordSurvival({
      fault: "SIGKILL of a service process mid-load, then restart",
      tried: `auth killed once, then user, during ${ledger.flowsStarted} sign-ups (${ledger.calls.length} calls; ${failures(ledger).length} cut off: ${failureCodes})`,
      times: 2,
      lost: `nothing: ${audit.checked} acknowledged calls in the databases, their events each delivered once, 0 duplicate ids`,
    });
  }, 180_000);

  it("SIGTERM: calls already in the handler finish with OK, new connections are refused, the process exits 0", async () => {
    const identifier = "sigterm@example.com";
    // Hold the identifier's rate-limit row: every SendOtp for it waits inside its first statement.
    const blocker = new pg.Client({ connectionString: authDatabase.url });
    blocker.on("error", () => undefined); // dropped with the test database
    await blocker.connect();
    await blocker.query(
      "insert into rate_limits (key, hits, updated_at) values ($1, '{}', now()) on conflict do nothing",
      [`otp-send:identifier:${identifier}`],
    );
    await blocker.query("begin");
    await blocker.query("select 1 from rate_limits where key = $1 for update", [`otp-send:identifier:${identifier}`]);

    const request = { identifier, identifierType: IdentifierType.EMAIL, purpose: OtpPurpose.LOGIN, deviceId: "d" };
    const overHttp1 = createClient(AuthService, createConnectTransport({ baseUrl: auth!.baseUrl, httpVersion: "1.1" }));
    const overHttp2 = createClient(AuthService, createGrpcTransport({ baseUrl: auth!.baseUrl }));
    const calls = Array.from({ length: 10 }, (_, index) =>
      (index % 2 === 0 ? overHttp1 : overHttp2).sendOtp(request).then(
        () => "ok",
        (error: unknown) => String(error),
      ),
    );
    // All ten are in the handler once ten sessions wait on a lock: one on the identifier's row, the
    // others on its advisory lock, which every send takes first.
    await waitFor(async () => (await lockWaiters(authDatabase)) >= 10, { timeoutMs: 15_000 });

    const exited = auth!.signal("SIGTERM");
    await waitFor(() => refusesConnections(auth!.port), { timeoutMs: 10_000 });
    await blocker.query("commit");
    await blocker.end();

    expect(await Promise.all(calls)).toEqual(Array.from({ length: 10 }, () => "ok"));
    expect(await exited).toEqual({ code: 0, signal: null });
    // The relay flushed on the way out or the next instance will: the codes' events are not lost.
    await auth!.start();
    events ??= await collectEvents(nats.url);
    await waitFor(
      () => events!.decoded("auth.otp.sent").filter((event) => event.identifier === identifier).length === 10,
      {
        timeoutMs: 20_000,
      },
    );
    recordSurvival({
      fault: "SIGTERM with calls in the handler",
      tried: "10 SendOtp (5 over HTTP/1.1, 5 over HTTP/2) held on locks in their first statement while the signal came",
      times: 1,
      lost: "nothing: all 10 answered OK, exit code 0, their 10 events published",
    });
  }, 90_000);

  it("SIGTERM while NATS has never been reachable: both services exit 0 without waiting for it", async () => {
    // Nothing listens here: each service's NATS link keeps retrying, and its durable consumers wait
    // for it. Their stop used to wait too, until the 30 s hard stop ended the process with code 1.
    const noNats = `nats://127.0.0.1:${await freePort()}`;
    const [lonelyAuthDatabase, lonelyUserDatabase] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    let lonelyAuth: ServiceProcess | undefined;
    let lonelyUser: ServiceProcess | undefined;
    try {
      const common = { NATS_URL: noNats, LOG_LEVEL: "info" };
      // NOT_SERVING without NATS, as readiness should be: started once they answer.
      lonelyAuth = await startServiceProcess("auth", {
        from: "source",
        inherit: process.env,
        readyWhen: "answering",
        env: { ...common, AUTH_DATABASE_URL: lonelyAuthDatabase.url, OTP_DELIVERY: "log" },
      });
      lonelyUser = await startServiceProcess("user", {
        from: "source",
        inherit: process.env,
        readyWhen: "answering",
        env: {
          ...common,
          USER_DATABASE_URL: lonelyUserDatabase.url,
          AUTH_JWKS_URL: `${lonelyAuth.baseUrl}/.well-known/jwks.json`,
        },
      });
      expect(await Promise.all([lonelyUser.signal("SIGTERM"), lonelyAuth.signal("SIGTERM")])).toEqual([
        { code: 0, signal: null },
        { code: 0, signal: null },
      ]);
      recordSurvival({
        fault: "SIGTERM while NATS has never been reachable",
        tried: "both services started with NATS_URL on a port nothing listens on, then SIGTERM",
        times: 1,
        lost: "nothing: both exit 0 at once",
      });
    } finally {
      await Promise.allSettled([lonelyUser?.stop(), lonelyAuth?.stop()]);
      await Promise.allSettled([lonelyAuthDatabase.drop(), lonelyUserDatabase.drop()]);
    }
  }, 90_000);
});

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}
