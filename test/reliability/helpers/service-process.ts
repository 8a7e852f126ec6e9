// A service as its own OS process (services/<name>/main.ts run by Node with the tsx loader), so a
// test can SIGKILL or SIGTERM it and start it again on the same port. Tied to the test process's life
// like the harness's servers (setpriv --pdeathsig), and its output goes to a log file.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { waitFor } from "../../support/wait-for.js";
import { freePort, logTail, makeTempDir, stopServer } from "../../support/server-process.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const hasSetpriv = existsSync("/usr/bin/setpriv");
const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGKILL");
});

/** Like the harness's spawnServer, with an environment: own process group, killed if we die, output to a file. */
function spawnNode(args: string[], logFile: string, env: NodeJS.ProcessEnv): ChildProcess {
  const [command, argv] = hasSetpriv
    ? ["/usr/bin/setpriv", ["--pdeathsig", "KILL", "--", process.execPath, ...args]]
    : [process.execPath, args];
  const log = openSync(logFile, "a");
  try {
    const child = spawn(command, argv, { detached: true, cwd: repoRoot, env, stdio: ["ignore", log, log] });
    children.add(child);
    child.once("exit", () => children.delete(child));
    return child;
  } finally {
    closeSync(log);
  }
}

export interface ServiceProcess {
  readonly name: "auth" | "user";
  readonly port: number;
  readonly baseUrl: string;
  readonly address: string;
  readonly logFile: string;
  /** The running child (a new one after each start). */
  child(): ChildProcess;
  /** How each process so far ended, for diagnostics. */
  readonly exits: string[];
  /** Starts (again) on the same port and waits until health says SERVING. */
  start(): Promise<void>;
  /** Sends a signal and waits for the exit; returns how it ended. */
  signal(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log(): string;
  stop(): Promise<void>;
}

export async function serviceProcess(name: "auth" | "user", env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const dir = makeTempDir(`${name}-process`);
  const logFile = join(dir, `${name}.log`);
  const portVariable = name === "auth" ? "AUTH_PORT" : "USER_PORT";
  let child: ChildProcess | undefined;
  const exits: string[] = [];
  const baseUrl = `http://127.0.0.1:${port}`;

  const start = async () => {
    child = spawnNode(["--import", tsxLoader, join(repoRoot, "services", name, "main.ts")], logFile, {
      ...process.env,
      [portVariable]: String(port),
      [`${name.toUpperCase()}_METRICS_PORT`]: "off",
      ...env,
    });
    const started = child;
    const startedAt = Date.now();
    started.once("exit", (code, signal) =>
      exits.push(`pid ${started.pid} ran ${Date.now() - startedAt} ms, exit ${code ?? signal}`),
    );
    const health = createClient(Health, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
    await waitFor(
      async () => {
        if (started.exitCode !== null || started.signalCode !== null) {
          throw new Error(
            `${name} process exited during start (${started.exitCode ?? started.signalCode}):\n${logTail(logFile)}`,
          );
        }
        const { status } = await health.check({ service: "" });
        return status === HealthCheckResponse_ServingStatus.SERVING;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
  };

  const signal = async (sig: NodeJS.Signals) => {
    const running = child!;
    if (running.exitCode !== null || running.signalCode !== null)
      return { code: running.exitCode, signal: running.signalCode };
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      running.once("exit", (code, signalCode) => resolve({ code, signal: signalCode })),
    );
    // The process itself, not its group: setpriv execs node, so the pid is node's.
    process.kill(running.pid!, sig);
    return exited;
  };

  await start();
  return {
    name,
    port,
    baseUrl,
    address: `127.0.0.1:${port}`,
    logFile,
    exits,
    child: () => child!,
    start,
    signal,
    log: () => logTail(logFile, 10_000),
    stop: async () => {
      if (child) await stopServer(child, "SIGTERM", 15_000);
    },
  };
}
