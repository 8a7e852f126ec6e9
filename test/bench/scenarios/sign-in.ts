// Scenarios 3-5: the full OTP sign-in of a returning user (SendOtp, code read from JetStream as the
// notification service reads it, VerifyOtp, Login), refresh-token rotation on the sessions it made
// (with the concurrent-reuse check), and sign-in with the outbox relay off versus on.
import pg from "pg";
import type { BenchClient } from "../clients.js";
import { jetStreamInbox, logFileInbox, type CodeInbox } from "../code-inbox.js";
import { measuredLoad, nodeConcurrencies, runSeconds, type BenchContext } from "../context.js";
import { freshAccount, probeSignIn, signIn, type Account, type Session } from "../flows.js";
import type { NodeProcess } from "../../support/node-process.js";
import { waitFor } from "../../support/wait-for.js";
import { relayQuantiles, scrapeRelayLag, startLagReceiver, summarize } from "../relay-lag-probe.js";
import { round, runLabel, scenarioFromRuns, shapeOf, skipped, type RunRow, type ScenarioResult } from "../report.js";
import { untilCpuIdle } from "../proc-stats.js";
import { startAuthProcess } from "../services.js";
import { messageOf } from "./tokens.js";

const keycloakLoginsPerVcpu = 15;
const keycloakRefreshesPerVcpu = 120;

export async function signInScenarios(ctx: BenchContext): Promise<ScenarioResult[]> {
  const names = ["otp-sign-in", "relay-lag", "refresh-rotation", "otp-sign-in-events-off"];
  const inbox = await jetStreamInbox(ctx.infra.natsUrl);
  try {
    await probeSignIn(ctx.clients[0]!, inbox, "probe");
  } catch (error) {
    await inbox.close();
    const reason = `sign-in failed: ${messageOf(error)}`;
    return names.map((name) => skipped(name, reason));
  }
  const receiver = await startLagReceiver(ctx.infra.natsUrl);
  const metricsUrl = `http://127.0.0.1:${ctx.authMetricsPort}/metrics`;
  const measured = measuredProcesses(ctx);
  const signInRuns: RunRow[] = [];
  const sessions: Session[] = [];
  try {
    for (const client of ctx.clients) {
      for (const inFlight of signInConcurrencies(ctx, client)) {
        const { newUsers, returning } = await signInPair(ctx, measured, client, inbox, inFlight, "signin", (session) =>
          sessions.push(session),
        );
        signInRuns.push(newUsers);
        // The new users' events are not this run's: let them arrive, and drop them.
        await receiver.settled();
        const before = await scrapeRelayLag(metricsUrl);
        const run = await returning();
        run.relay_lag_ms = summarize(await receiver.settled());
        const relaySide = relayQuantiles(before, await scrapeRelayLag(metricsUrl));
        if (relaySide) run.relay_side_lag_ms = relaySide;
        signInRuns.push(run);
      }
    }
  } finally {
    await inbox.close();
    await receiver.close();
  }
  const returningRuns = signInRuns.filter((run) => !run.note?.startsWith("new users"));
  const signInRow = scenarioFromRuns("otp-sign-in", returningRuns, {
    baseline: "keycloak-published",
    target: "ours >= 3x better-auth at every load shape (judged in better-auth-otp-sign-in); <= 2 commits per RPC",
    notes: [
      "returning users (each signed in once before, in the 'new users' run beside it); 3 RPCs per sign-in, the code read from JetStream notify.otp.email",
      "service CPU = auth + user processes (the user service consumes auth events); OTP_IP_RATE_LIMIT_MAX_REQUESTS raised for the benchmark (one client IP)",
    ],
  });
  const withRatio = withPublishedRatio(signInRow, keycloakLoginsPerVcpu, (row) =>
    row.commits_per_op === null ? null : row.commits_per_op <= 6,
  );
  withRatio.runs = signInRuns;
  withRatio.extra = {
    commits_per_rpc: withRatio.commits_per_op === null ? null : round(withRatio.commits_per_op / 3, 2),
  };

  const refresh = await refreshRotation(ctx, measured, sessions);
  const events = await eventsOffVersusOn(ctx);
  return [withRatio, relayLagRow(withRatio, returningRuns), refresh, events];
}

/**
 * Relay lag at peak (the sign-in run with the most sign-ins per second, the headline) and at one
 * sign-in in flight, as the separate receiver process saw it, with the relay's own side beside it.
 */
function relayLagRow(signIn: ScenarioResult, returningRuns: RunRow[]): ScenarioResult {
  const name = "relay-lag";
  const peak = returningRuns.find((run) => runLabel(run) === signIn.headline);
  if (!peak?.relay_lag_ms || peak.relay_lag_ms.events === 0)
    return skipped(name, signIn.skipped ?? "the receiver got no event during the sign-in runs");
  const lagOf = (run: RunRow) => ({
    run: shapeOf(run),
    sign_ins_per_s: run.ops_per_s,
    received: run.relay_lag_ms,
    relay_side: run.relay_side_lag_ms ?? "not read (metrics port unreachable)",
  });
  const single = returningRuns.filter((run) => run.in_flight === 1 && run.relay_lag_ms);
  return {
    name,
    ops_per_s: peak.ops_per_s,
    ops_per_service_cpu_s: null,
    p50_ms: peak.relay_lag_ms.p50,
    p99_ms: peak.relay_lag_ms.p99,
    peak_rss_mb: null,
    commits_per_op: null,
    baseline: null,
    ratio_to_baseline: null,
    target: "p99 <= 100 ms at peak (occurred_at to receipt in a separate process)",
    met: peak.relay_lag_ms.p99 <= 100,
    headline: `otp-sign-in at peak: ${runLabel(peak)}`,
    extra: { at_peak: lagOf(peak), at_1_in_flight: single.map(lagOf) },
    notes: [
      "p50/p99: the auth events of the returning-users run, from occurred_at (the service's clock once it held the connection writing the change: inside its transaction, or just before its lone statement; docs/events.md) to receipt by test/bench/event-receiver.ts, a process of its own subscribed to JetStream",
      "relay_side: mintcoin_outbox_relay_lag_seconds (transaction to JetStream ack) from the auth service's metrics port, as the upper bound of the histogram bucket the quantile falls in",
    ],
  };
}

function measuredProcesses(ctx: BenchContext): NodeProcess[] {
  return ctx.user ? [ctx.auth, ctx.user] : [ctx.auth];
}

function signInConcurrencies(ctx: BenchContext, client: BenchClient): number[] {
  // Quick: the Connect client, the browser's protocol, as better-auth is driven over plain HTTP; at
  // one in flight too, for the relay lag without load.
  if (ctx.quick) return client.kind === "connect" ? [1, 16] : [];
  return nodeConcurrencies(ctx);
}

/**
 * Signs new accounts in for one run's length (measured: the "new users" row), then signs the same
 * accounts in again as returning users. Each account sends two codes, below the limit of three.
 */
async function signInPair(
  ctx: BenchContext,
  processes: NodeProcess[],
  client: BenchClient,
  inbox: CodeInbox,
  inFlight: number,
  label: string,
  keep: (session: Session) => void,
): Promise<{ newUsers: RunRow; accounts: Account[]; returning: () => Promise<RunRow> }> {
  const durationMs = runSeconds(ctx, "flow") * 1000;
  const accounts: Account[] = [];
  const newUsers = await measuredLoad(
    ctx,
    processes,
    client.kind,
    inFlight,
    {
      durationMs,
      async op() {
        const account = freshAccount(label);
        await signIn(client, inbox, account);
        accounts.push(account);
      },
    },
    "new users (accounts for the returning run)",
  );
  return {
    newUsers,
    accounts,
    returning: () =>
      measuredLoad(
        ctx,
        processes,
        client.kind,
        inFlight,
        {
          durationMs: durationMs * 2,
          maxOps: accounts.length,
          async op(index) {
            keep(await signIn(client, inbox, accounts[index]!));
          },
        },
        "returning users",
      ),
  };
}

function withPublishedRatio(
  row: ScenarioResult,
  published: number,
  met: (row: ScenarioResult) => boolean | null,
): ScenarioResult {
  return {
    ...row,
    ratio_to_baseline: row.ops_per_service_cpu_s === null ? null : round(row.ops_per_service_cpu_s / published, 2),
    ratio_meaning: `ops per service-CPU-second / Keycloak's published ${published} per vCPU`,
    met: row.skipped ? null : met(row),
  };
}

async function refreshRotation(
  ctx: BenchContext,
  processes: NodeProcess[],
  sessions: Session[],
): Promise<ScenarioResult> {
  const name = "refresh-rotation";
  ctx.log(`${name}: RefreshToken chains, one per worker`);
  const client = ctx.clients[0]!;
  const reuse = sessions.splice(0, 20);
  try {
    const first = sessions.shift();
    if (!first) return skipped(name, "no sessions from the sign-in runs");
    await client.refresh(first.refreshToken, first.deviceId, first.ip);
  } catch (error) {
    return skipped(name, `RefreshToken failed: ${messageOf(error)}`);
  }
  const runs: RunRow[] = [];
  for (const c of ctx.clients) {
    for (const inFlight of ctx.quick ? (c.kind === "connect" ? [16] : []) : nodeConcurrencies(ctx)) {
      const chains = sessions.splice(0, inFlight);
      if (chains.length < inFlight) break;
      runs.push(
        await measuredLoad(ctx, processes, c.kind, inFlight, {
          durationMs: runSeconds(ctx, "flow") * 1000,
          async op(_index, worker) {
            const chain = chains[worker]!;
            const tokens = await c.refresh(chain.refreshToken, chain.deviceId, chain.ip);
            chain.refreshToken = tokens.refreshToken;
          },
        }),
      );
    }
  }
  // Concurrent reuse: the same refresh token presented twice at once must rotate exactly once. The
  // service may answer the second presentation within its grace window with the same new pair (a
  // retry), so "exactly once" is: every success carries the same new refresh token, and that token
  // rotates again afterwards (the chain was not forked or revoked).
  let exactlyOnce = 0;
  for (const session of reuse) {
    const results = await Promise.allSettled([
      client.refresh(session.refreshToken, session.deviceId, session.ip),
      client.refresh(session.refreshToken, session.deviceId, session.ip),
    ]);
    const successes = results.flatMap((result) => (result.status === "fulfilled" ? [result.value.refreshToken] : []));
    if (successes.length === 0 || new Set(successes).size !== 1) continue;
    const next = await client.refresh(successes[0]!, session.deviceId, session.ip).then(
      () => true,
      () => false,
    );
    if (next) exactlyOnce++;
  }
  const row = withPublishedRatio(
    scenarioFromRuns(name, runs, {
      baseline: "keycloak-published",
      target:
        ">= 1,000 rotations per service-CPU-second (Keycloak: 120 per vCPU); concurrent reuse rotates exactly once",
    }),
    keycloakRefreshesPerVcpu,
    (r) => (r.ops_per_service_cpu_s === null ? null : r.ops_per_service_cpu_s >= 1000 && exactlyOnce === reuse.length),
  );
  row.extra = {
    concurrent_reuse_exactly_once: `${exactlyOnce}/${reuse.length} pairs (one new token for both presentations, and it rotates again)`,
  };
  return row;
}

/**
 * The relay's cost: returning users' sign-ins with NATS (relay publishing every event) and without
 * (events stay in the outbox). Every run delivers codes through the log (OTP_DELIVERY=log), so the
 * only difference is the relay and its NATS connection. Each run is on an auth service restarted for
 * it (on the same port; finally restarted as it was) and warmed by a run of new users that is not
 * judged, because a process's first calls carry V8 compiling the hot paths. The sides run in ABBA
 * order (on, off, off, on), each judged by the mean of its two runs' CPU per sign-in with equal
 * weights, so that a drift over the scenario (Postgres vacuuming what the scenarios before wrote,
 * the machine's other load) weighs on both sides alike; docs/performance.md ("The pair in ABBA
 * order") has what one run a side gave. A relay-on run starts once the backlog the relay-off runs
 * left is published and consumed (backlogSettled), which is not the measured sign-ins' work.
 */
async function eventsOffVersusOn(ctx: BenchContext): Promise<ScenarioResult> {
  const name = "otp-sign-in-events-off";
  const client = ctx.clients[0]!;
  const inFlight = 16;
  const restartAuth = async (natsUrl: string | undefined, env: Record<string, string>) => {
    await ctx.auth.stop();
    ctx.auth = await startAuthProcess({
      databaseUrl: ctx.databases.auth.url,
      natsUrl,
      port: ctx.auth.port,
      nodeFlags: ctx.serviceNodeFlags,
      env: { AUTH_METRICS_PORT: String(ctx.authMetricsPort), ...env },
    });
  };
  /** One measured run of returning users on an auth service started for it, with or without NATS. */
  const measureSide = async (relayOn: boolean, runNumber: number): Promise<RunRow> => {
    const side = relayOn ? "on" : "off";
    ctx.log(`${name}: relay ${side} (${relayOn ? "NATS" : "no NATS_URL"}, codes through the log), run ${runNumber}`);
    await restartAuth(relayOn ? ctx.infra.natsUrl : undefined, { OTP_DELIVERY: "log" });
    if (relayOn) await backlogSettled(ctx);
    const inbox = logFileInbox(ctx.auth.logFile);
    try {
      const label = `events-${side}-${runNumber}`;
      const pair = await signInPair(ctx, [ctx.auth], client, inbox, inFlight, label, () => undefined);
      return { ...(await pair.returning()), note: `relay ${side} (returning users), run ${runNumber}` };
    } finally {
      await inbox.close();
    }
  };
  const runs: RunRow[] = [];
  try {
    const on1 = await measureSide(true, 1);
    runs.push(on1);
    const off1 = await measureSide(false, 1);
    runs.push(off1);
    const off2 = await measureSide(false, 2);
    runs.push(off2);
    const on2 = await measureSide(true, 2);
    runs.push(on2);
    const failed = [on1, off1, off2, on2].find((run) => run.ops === 0 || run.errors > 0);
    if (failed)
      return skipped(name, `a run failed: ${failed.note}, ${failed.first_error ?? "no sign-in completed"}`, { runs });
    const cpuPerSignIn = (a: RunRow, b: RunRow) => (1 / a.ops_per_service_cpu_s + 1 / b.ops_per_service_cpu_s) / 2;
    const cpuOn = cpuPerSignIn(on1, on2);
    const cpuOff = cpuPerSignIn(off1, off2);
    const extraCpu = cpuOn / cpuOff - 1;
    const row = scenarioFromRuns(name, [off1, off2]);
    return {
      ...row,
      runs: [off1, off2, on1, on2],
      baseline: "the same sign-ins with the relay on (runs[2] and runs[3]), in ABBA order: on, off, off, on",
      ratio_to_baseline: round(cpuOn / cpuOff, 2),
      ratio_meaning: "auth CPU per sign-in with the relay on / off, each side the mean of its two runs",
      target: "relay on costs <= 10% more CPU per sign-in than off",
      met: Number.isFinite(extraCpu) ? extraCpu <= 0.1 : null,
      extra: {
        relay_extra_cpu_fraction: round(extraCpu, 3),
        auth_cpu_ms_per_sign_in: { on: round(1000 * cpuOn, 3), off: round(1000 * cpuOff, 3) },
      },
      notes: ["auth CPU only; codes through OTP_DELIVERY=log in all four runs so that only the relay differs"],
    };
  } catch (error) {
    return skipped(name, `failed: ${messageOf(error)}`, { runs });
  } finally {
    await restartAuth(ctx.infra.natsUrl, {}).catch((error: unknown) =>
      ctx.log(`auth restart failed: ${messageOf(error)}`),
    );
  }
}

/**
 * Waits out the backlog a relay-on run would otherwise pay for: the relay-off runs' events, which the
 * relay publishes as it starts, and the user service consuming them (its CPU is not counted, but it
 * shares the cores). The outbox until no event is unsent, then the user service until it used no
 * CPU tick for 200 ms; at most 2 minutes each.
 */
async function backlogSettled(ctx: BenchContext): Promise<void> {
  const client = new pg.Client({ connectionString: ctx.databases.auth.url, connectionTimeoutMillis: 10_000 });
  // A connection Postgres drops fails the query below; without a listener it would stop the process.
  client.on("error", () => undefined);
  await client.connect();
  try {
    await waitFor(
      async () => {
        const { rows } = await client.query<{ unsent: boolean }>(
          "select exists (select 1 from outbox where sent_at is null) as unsent",
        );
        if (rows[0]?.unsent) throw new Error("the outbox relay did not publish its backlog within 2 minutes");
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
  } finally {
    await client.end();
  }
  if (ctx.user && !(await untilCpuIdle([ctx.user.pid], 200, 120_000)))
    throw new Error("the user service did not consume the backlog within 2 minutes");
}
