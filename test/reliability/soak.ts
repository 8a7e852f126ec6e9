// npm run soak: a bounded soak of both services, each in its own process started as deployed (the
// built dist/ with the node flags of `npm run start:auth` / `start:user`, so the RSS it reports is
// what production's would be), on a throwaway Postgres and NATS. First it measures the peak sign-up
// rate (closed loop, rising concurrency), then it runs at 70% of that rate (open loop) for
// SOAK_SECONDS (default 180) and prints, per interval, the error rate, p50/p99 call latency, each
// service's RSS and the outbox backlog; at the end a verdict: error rate 0, p99 stable (no drift),
// memory flat, backlog bounded. Exit code 1 when one fails.
// Environment: SOAK_SECONDS, SOAK_INTERVAL_SECONDS (15), SOAK_RAMP_SECONDS (8 per peak step),
// SOAK_LOAD (0.7 of the peak).
//
// A sign-up here is the whole flow a new person makes: SendOtp, VerifyOtp, Login, CreateUser,
// UpdateMe twice, RefreshToken (7 calls), with codes read from NOTIFY_OTP as the notification service
// would. Per-IP send limits are raised: every flow comes from 127.0.0.1.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinaries } from "../support/ensure-binaries.js";
import { ensureBuilt } from "../support/ensure-built.js";
import { startNats } from "../support/nats.js";
import { adminQuery, startPostgres } from "../support/postgres.js";
import { TEST_ROOT_ENV, TEST_ROOT_PREFIX } from "../support/server-process.js";
import { ascending, median, percentile } from "../support/statistics.js";
import { deployedEnvironment, type ServiceProcess, startServiceProcess } from "../support/service-process.js";
import { unsentOutboxRows } from "./helpers/committed-state.js";
import { readCodesFromNats } from "./helpers/nats-codes.js";
import { workloadTarget } from "./helpers/stack.js";
import { emptyLedger, runAtRate, runWorkload, type Call, type Ledger } from "./helpers/workload.js";

const soakSeconds = Number(process.env.SOAK_SECONDS ?? 180);
const intervalSeconds = Number(process.env.SOAK_INTERVAL_SECONDS ?? 15);
const rampSeconds = Number(process.env.SOAK_RAMP_SECONDS ?? 8);
const loadFraction = Number(process.env.SOAK_LOAD ?? 0.7);

function rssMiB(service: ServiceProcess): number {
  const status = readFileSync(`/proc/${service.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** What the kernel says the process runs, flags included. */
function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "-");

async function main(): Promise<number> {
  // The harness's throwaway servers live under one folder, removed when we exit.
  const root = mkdtempSync(join(tmpdir(), `${TEST_ROOT_PREFIX}soak-`));
  chmodSync(root, 0o755); // the postgres OS user keeps its data directory in here
  process.env[TEST_ROOT_ENV] = root;
  process.once("exit", () => rmSync(root, { recursive: true, force: true }));
  ensureBinaries((line) => log(line));
  ensureBuilt((line) => log(`soak: ${line}`), false);
  log(`soak: starting Postgres, NATS, and both services as processes`);
  const [postgres, nats] = await Promise.all([startPostgres({ maxConnections: 200 }), startNats()]);
  for (const name of ["soak_auth", "soak_user"]) await adminQuery(postgres.url(), `create database ${name}`);
  const common = { NATS_URL: nats.url, LOG_LEVEL: "warn", DATABASE_POOL_SIZE: "20" };
  const deployed = { from: "dist", inherit: deployedEnvironment() } as const;
  const auth = await startServiceProcess("auth", {
    ...deployed,
    env: {
      ...common,
      AUTH_DATABASE_URL: postgres.url("soak_auth"),
      OTP_DELIVERY: "nats",
      OTP_IP_RATE_LIMIT_MAX_REQUESTS: "100000000",
      OTP_GLOBAL_SEND_BUDGET: "100000000",
    },
  });
  const user = await startServiceProcess("user", {
    ...deployed,
    env: {
      ...common,
      USER_DATABASE_URL: postgres.url("soak_user"),
      AUTH_JWKS_URL: `${auth.baseUrl}/.well-known/jwks.json`,
    },
  });
  for (const service of [auth, user]) log(`soak: ${service.name} pid ${service.pid}: ${commandLine(service.pid)}`);
  const codes = await readCodesFromNats(nats.url);
  const backlog = async () =>
    (await Promise.all([postgres.url("soak_auth"), postgres.url("soak_user")].map(unsentOutboxRows))).reduce(
      (sum, count) => sum + count,
      0,
    );
  const target = workloadTarget({ auth, user }, (identifier) => codes.codeFor(identifier));

  try {
    // 1. Peak: closed loop at rising concurrency until throughput stops rising.
    log(`\npeak sign-up rate (closed loop, ${rampSeconds} s per step)`);
    log(`concurrency  sign-ups/s  calls/s  errors  p99 ms`);
    let peak = 0;
    for (const concurrency of [2, 4, 8, 16, 32, 64]) {
      const ledger = emptyLedger();
      const until = Date.now() + rampSeconds * 1000;
      const began = performance.now();
      await runWorkload(
        { target: () => target, concurrency, tag: `peak${concurrency}-`, stop: () => Date.now() >= until },
        ledger,
      );
      const seconds = (performance.now() - began) / 1000;
      const rate = ledger.flowsCompleted / seconds;
      const errors = ledger.calls.filter((call) => call.code !== "ok").length;
      log(
        `${String(concurrency).padStart(11)}  ${fixed(rate).padStart(10)}  ${fixed(ledger.calls.length / seconds, 0).padStart(7)}  ${String(errors).padStart(6)}  ${fixed(
          percentile(ascending(ledger.calls.map((c) => c.ms)), 0.99),
        ).padStart(6)}`,
      );
      if (rate < peak * 1.05) {
        peak = Math.max(peak, rate);
        break;
      }
      peak = Math.max(peak, rate);
    }
    const rate = peak * loadFraction;
    log(
      `peak: ${fixed(peak)} sign-ups/s; soaking at ${Math.round(loadFraction * 100)}%: ${fixed(rate)} sign-ups/s for ${soakSeconds} s`,
    );

    // 2. Soak: open loop at 70% of the peak, reporting every interval.
    const ledger: Ledger = emptyLedger();
    const soakStart = Date.now();
    const soakEnd = soakStart + soakSeconds * 1000;
    let dropped = 0;
    const soak = runAtRate(
      { target: () => target, ratePerSecond: rate, maxInFlight: 200, tag: "soak-", stop: () => Date.now() >= soakEnd },
      ledger,
    ).then((result) => (dropped = result.dropped));
    log(`\n  t s  sign-ups/s  calls  errors  error%  p50 ms  p99 ms  auth RSS MiB  user RSS MiB  outbox backlog`);
    const rows: Array<{ p99: number; authRss: number; userRss: number; backlog: number; errors: number }> = [];
    let seen = 0;
    for (let end = soakStart + intervalSeconds * 1000; end <= soakEnd; end += intervalSeconds * 1000) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, end - Date.now())));
      const calls: Call[] = ledger.calls.slice(seen);
      seen = ledger.calls.length;
      const errors = calls.filter((call) => call.code !== "ok").length;
      const completed = calls.filter((call) => call.step.rpc === "RefreshToken" && call.code === "ok").length;
      const latencies = ascending(calls.map((c) => c.ms));
      const row = {
        p99: percentile(latencies, 0.99),
        authRss: rssMiB(auth),
        userRss: rssMiB(user),
        backlog: await backlog(),
        errors,
      };
      rows.push(row);
      log(
        `${String(Math.round((end - soakStart) / 1000)).padStart(5)}  ${fixed(completed / intervalSeconds).padStart(10)}  ${String(calls.length).padStart(5)}  ` +
          `${String(errors).padStart(6)}  ${fixed((100 * errors) / Math.max(1, calls.length), 2).padStart(6)}  ${fixed(
            percentile(latencies, 0.5),
          ).padStart(6)}  ` +
          `${fixed(row.p99).padStart(6)}  ${fixed(row.authRss).padStart(12)}  ${fixed(row.userRss).padStart(12)}  ${String(row.backlog).padStart(14)}`,
      );
    }
    await soak;

    // 3. Verdict.
    const totalErrors = ledger.calls.filter((call) => call.code !== "ok").length;
    const steady = rows.slice(1); // the first interval includes warm-up
    const p99s = steady.map((row) => row.p99);
    const half = Math.floor(steady.length / 2);
    const rssGrowth = (pick: (row: (typeof rows)[number]) => number) =>
      steady.length < 2 ? 0 : Math.max(...steady.slice(half).map(pick)) - Math.max(...steady.slice(0, half).map(pick));
    const verdicts = [
      {
        name: "error rate 0",
        ok: totalErrors === 0 && dropped === 0,
        detail: `${totalErrors} failed calls of ${ledger.calls.length}, ${dropped} arrivals dropped`,
      },
      {
        // Stable means no drift: a single slow interval (a GC pause, a busy neighbour on a shared
        // machine) is noise; the second half's typical p99 running away from the first half's is not.
        name: "p99 stable",
        ok: p99s.length < 2 || median(p99s.slice(half)) <= 2 * median(p99s.slice(0, half)) + 20,
        detail:
          `median p99 first half ${fixed(median(p99s.slice(0, half)))} ms, second half ${fixed(median(p99s.slice(half)))} ms ` +
          `(intervals ${fixed(Math.min(...p99s))}-${fixed(Math.max(...p99s))} ms)`,
      },
      {
        name: "memory flat",
        ok: rssGrowth((row) => row.authRss) < 64 && rssGrowth((row) => row.userRss) < 64,
        detail: `RSS growth second half vs first: auth ${fixed(rssGrowth((row) => row.authRss))} MiB, user ${fixed(rssGrowth((row) => row.userRss))} MiB`,
      },
      {
        name: "outbox backlog bounded",
        ok: rows.every((row) => row.backlog < rate * 7 * 5) && (await backlog()) < rate * 7 * 5,
        detail: `max ${Math.max(...rows.map((row) => row.backlog))} unsent rows (bound: 5 s of events)`,
      },
    ];
    log(
      `\n${ledger.flowsCompleted} sign-ups (${ledger.calls.length} calls) in ${soakSeconds} s at ${fixed(rate)}/s (peak ${fixed(peak)}/s)`,
    );
    for (const verdict of verdicts) log(`${verdict.ok ? "PASS" : "FAIL"}  ${verdict.name}: ${verdict.detail}`);
    return verdicts.every((verdict) => verdict.ok) ? 0 : 1;
  } finally {
    await codes.close();
    await user.stop();
    await auth.stop();
    await nats.stop();
    await postgres.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
