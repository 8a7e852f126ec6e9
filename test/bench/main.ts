// `npm run bench [-- --quick] [--out FILE.json] [--only a,b] [--cpu-prof DIR] [--node-flags="--flag ..."] [--no-build]`
// Starts Postgres and NATS (throwaway, or BENCH_DATABASE_URL), builds and starts the services as
// separate processes, runs the issue's scenarios, prints a table and writes the JSON results.
import { readFileSync, writeFileSync } from "node:fs";
import { setPriority } from "node:os";
import { parseArgs } from "node:util";
import { connectClient, grpcJsClient } from "./clients.js";
import type { BenchContext } from "./context.js";
import { ensureH2load } from "./h2load.js";
import { startInfra } from "./infra.js";
import { CommitCounter } from "./measure.js";
import { processNames } from "./process-names.js";
import { describeMachine } from "./proc-stats.js";
import { formatProfiles, summarizeProfiles, type ProfileSummary } from "./profile-summary.js";
import { formatTable, skipped, type ScenarioResult } from "./report.js";
import { betterAuthScenario, startBetterAuth } from "./scenarios/better-auth.js";
import { floorScenarios, startFloorServers } from "./scenarios/floor.js";
import { memoryScenario } from "./scenarios/memory.js";
import { secondListenerScenario } from "./scenarios/second-listener.js";
import { signInScenarios } from "./scenarios/sign-in.js";
import { tokenScenarios } from "./scenarios/tokens.js";
import { startAuthProcess, startUserProcess } from "./services.js";
import { ensureBuilt } from "../support/ensure-built.js";
import { freePort } from "../support/server-process.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    out: { type: "string" },
    only: { type: "string" },
    "cpu-prof": { type: "string" },
    "node-flags": { type: "string" },
    "no-build": { type: "boolean", default: false },
  },
});
const began = performance.now();
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const loadAtStart = loadAverage();
const log = (line: string) =>
  process.stdout.write(`[bench ${((performance.now() - began) / 1000).toFixed(1)}s] ${line}\n`);
const only = values.only ? new Set(values.only.split(",")) : undefined;
const wanted = (...names: string[]) => !only || names.some((name) => only.has(name));
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

// Other work on the machine (a test suite, an editor's type checker) takes CPU from the processes
// under measurement and inflates their CPU per operation: as root, run everything we start (they
// inherit it) at a higher priority. BENCH_NICE=0 leaves the priority alone.
const niceness = Number(process.env.BENCH_NICE ?? -10);
if (niceness !== 0 && process.getuid?.() === 0) setPriority(niceness);

ensureBuilt(log, values["no-build"]);
const infra = await startInfra(log);
const counter = await CommitCounter.open(infra.adminUrl);
let exitCode = 0;
let ctx: BenchContext | undefined;
try {
  const h2load = ensureH2load(log);
  const databases = { auth: await infra.createDatabase("auth"), user: await infra.createDatabase("user") };
  // Everything that only idles until its scenario starts now, in parallel.
  const floorServers = wanted("empty-rpc-connect", "empty-rpc-grpc-js") ? startFloorServers() : undefined;
  const betterAuth = wanted("better-auth-otp-sign-in") ? startBetterAuth({ infra }) : undefined;
  betterAuth?.catch(() => undefined);
  // After the production flags: e.g. --perf-basic-prof, for an on-CPU profile with Linux perf (test/bench/README.md).
  const serviceNodeFlags = [
    ...(values["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${values["cpu-prof"]}`] : []),
    ...(values["node-flags"]?.split(/\s+/).filter(Boolean) ?? []),
  ];
  const authPort = await freePort();
  // The relay's own lag histogram is read from the auth service's metrics port (off by default in the harness).
  const authMetricsPort = await freePort();
  const [auth, user] = await Promise.all([
    startAuthProcess({
      databaseUrl: databases.auth.url,
      natsUrl: infra.natsUrl,
      nodeFlags: serviceNodeFlags,
      port: authPort,
      env: { AUTH_METRICS_PORT: String(authMetricsPort) },
    }),
    // Without a working user service the scenarios that need it are skipped, not the whole run.
    startUserProcess({
      databaseUrl: databases.user.url,
      natsUrl: infra.natsUrl,
      authBaseUrl: `http://127.0.0.1:${authPort}`,
      nodeFlags: serviceNodeFlags,
    }).catch((error: unknown) => {
      log(`user service did not start: ${message(error).split("\n").slice(0, 8).join("\n")}`);
      return undefined;
    }),
  ]);
  log(
    `${infra.postgresLabel}; NATS ${infra.natsUrl}; auth pid ${auth.pid} port ${auth.port}; user ${user ? `pid ${user.pid} port ${user.port}` : "not running"}`,
  );
  ctx = {
    quick: values.quick,
    log,
    infra,
    counter,
    databases,
    auth,
    user,
    userFailure: user ? undefined : "the user service did not start (see the log above)",
    clients: [
      grpcJsClient(auth.address, user?.address ?? "127.0.0.1:1"),
      connectClient(auth.baseUrl, user?.baseUrl ?? "http://127.0.0.1:1"),
    ],
    h2load,
    serviceNodeFlags,
    authMetricsPort,
  };

  const scenarios: ScenarioResult[] = [];
  const attempt = async (names: string[], run: (ctx: BenchContext) => Promise<ScenarioResult[]>) => {
    if (!wanted(...names) || !ctx) return;
    log(`--- ${names.join(", ")}`);
    try {
      scenarios.push(...(await run(ctx)));
    } catch (error) {
      log(`${names.join(", ")} failed: ${error instanceof Error ? error.stack : String(error)}`);
      for (const name of names) scenarios.push(skipped(name, `failed: ${message(error)}`));
    }
  };
  const find = (name: string) => scenarios.find((scenario) => scenario.name === name);
  if (floorServers) await attempt(["empty-rpc-connect", "empty-rpc-grpc-js"], (c) => floorScenarios(c, floorServers));
  await attempt(["validate-token", "get-me"], (c) => tokenScenarios(c, find("empty-rpc-connect")));
  await attempt(["validate-token-grpc-js-listener"], async (c) => [await secondListenerScenario(c)]);
  await attempt(["otp-sign-in", "relay-lag", "refresh-rotation", "otp-sign-in-events-off"], signInScenarios);
  if (betterAuth)
    await attempt(["better-auth-otp-sign-in"], async (c) => [
      await betterAuthScenario(c, await betterAuth, find("otp-sign-in")),
    ]);
  // Seeding a million rows takes a while: only in the full run.
  if (values.quick) {
    if (wanted("memory-1m"))
      scenarios.push(
        skipped(
          "memory-1m",
          "full run only (npm run bench): seeding 1M users and sessions takes longer than --quick allows",
        ),
      );
  } else {
    await attempt(["memory-1m"], async (c) => [
      await memoryScenario(c, Number(process.env.BENCH_SEED_COUNT ?? 1_000_000)),
    ]);
  }

  // Profiles are written when the services exit: stop them first.
  let profiles: ProfileSummary[] | undefined;
  if (values["cpu-prof"]) {
    await ctx.user?.stop();
    await ctx.auth.stop();
    profiles = summarizeProfiles(values["cpu-prof"], processNames);
  }
  const result = {
    machine: describeMachine(),
    command: `npm run bench --${values.quick ? " --quick" : ""}${values.out ? ` --out ${values.out}` : ""}`,
    mode: values.quick ? "quick" : "full",
    postgres: infra.postgresLabel,
    // The benchmark shares the machine with Postgres, NATS and its own load client; anything else
    // running (other test suites) slows everything down: the load average says whether it was quiet.
    load_average_1_5_15m: { start: loadAtStart, end: loadAverage() },
    definitions: {
      ops_per_service_cpu_s:
        "operations / (utime+stime of the measured service processes, from /proc/<pid>/stat, during the run)",
      commits_per_op:
        "write transactions per operation, from the cluster's transaction-id counter (see test/bench/measure.ts)",
      peak_rss_mb: "VmHWM of the measured processes during the run (reset before it through /proc/<pid>/clear_refs)",
      headline: "each scenario's numbers come from its run with the most operations per second; all runs are listed",
    },
    scenarios,
    ...(profiles ? { profiles } : {}),
    seconds: Math.round((performance.now() - began) / 1000),
  };
  process.stdout.write(
    `\n${result.machine}; load average ${loadAtStart} at start, ${result.load_average_1_5_15m.end} at end\n${formatTable(scenarios)}\n`,
  );
  if (profiles)
    process.stdout.write(`\nCPU profiles (--cpu-prof ${values["cpu-prof"]}):\n${formatProfiles(profiles)}\n`);
  if (values.out) {
    writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${values.out}`);
  }
  log(`done in ${result.seconds} s`);
} catch (error) {
  log(`benchmark failed: ${error instanceof Error ? error.stack : String(error)}`);
  exitCode = 1;
} finally {
  for (const client of ctx?.clients ?? []) client.close();
  await ctx?.user?.stop();
  await ctx?.auth.stop();
  await counter.close().catch(() => undefined);
  await infra.close();
}
process.exit(exitCode);
