// The processes under measurement (our services, a bare grpc-js server, better-auth), each a child
// of the benchmark so /proc tells its CPU and memory apart. Like the test harness's servers they
// die with us (setpriv --pdeathsig, own process group, exit hook).
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { join } from "node:path";
import { killGroup, logTail, makeTempDir, stopServer } from "../support/server-process.js";

export interface NodeProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** SIGTERM and wait: the services stop gracefully, which is when --cpu-prof writes its profile. */
  stop(): Promise<void>;
}

export interface SpawnNodeOptions {
  name: string;
  /** A .js file (run by node) or a .ts file (run through tsx's loader). */
  script: string;
  args?: string[];
  env: Record<string, string | undefined>;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  /** Open an IPC channel (process.send in the child). */
  ipc?: boolean;
}

const running = new Set<ChildProcess>();
/** Every process started, by pid: names the CPU profiles they leave behind. */
export const processNames = new Map<number, string>();
process.once("exit", () => {
  for (const child of running) killGroup(child, "SIGKILL");
});

const hasSetpriv = existsSync("/usr/bin/setpriv");

export function spawnNode(options: SpawnNodeOptions): NodeProcess {
  const dir = makeTempDir(options.name);
  const logFile = join(dir, `${options.name}.log`);
  const nodeArgs = [
    ...(options.script.endsWith(".ts") ? ["--import", "tsx"] : []),
    ...(options.nodeFlags ?? []),
    options.script,
    ...(options.args ?? []),
  ];
  const [command, args] = hasSetpriv
    ? ["/usr/bin/setpriv", ["--pdeathsig", "KILL", "--", process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs];
  const log = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      detached: true,
      env: options.env as NodeJS.ProcessEnv,
      stdio: options.ipc ? ["ignore", log, log, "ipc"] : ["ignore", log, log],
    });
  } finally {
    closeSync(log);
  }
  if (child.pid === undefined) throw new Error(`could not start ${options.name}`);
  running.add(child);
  child.once("exit", () => running.delete(child));
  const pid = child.pid;
  processNames.set(pid, options.name);
  return {
    name: options.name,
    pid,
    child,
    logFile,
    stop: () => stopServer(child, "SIGTERM", 30_000),
  };
}

/** Polls check() until true; fails early with the process's log if it exits. */
export async function waitUntilUp(proc: NodeProcess, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${proc.name} exited during start (code ${proc.child.exitCode}):\n${logTail(proc.logFile)}`);
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${proc.name} not up after ${timeoutMs} ms:\n${logTail(proc.logFile)}`, { cause: lastError });
}

/** True when the Connect endpoint of grpc.health.v1.Health/Check answers SERVING over HTTP/1.1. */
export async function healthServing(baseUrl: string, service = ""): Promise<boolean> {
  const response = await fetch(`${baseUrl}/grpc.health.v1.Health/Check`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ service }),
  });
  if (!response.ok) return false;
  const body = (await response.json()) as { status?: string };
  return body.status === "SERVING";
}
