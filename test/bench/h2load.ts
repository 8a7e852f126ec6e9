// h2load (Debian's nghttp2-client) as the load client for cheap RPCs: written in C, it does not
// saturate a core at tens of thousands of calls per second, whereas a Node gRPC or Connect client
// tops out near 3k calls/s on this kind of machine and would measure itself, not the server.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isRoot } from "../support/ensure-binaries.js";
import { makeTempDir } from "../support/server-process.js";
import { percentile } from "../support/statistics.js";
import type { LoadResult } from "./load.js";

const binary = "/usr/bin/h2load";

/** Finds h2load, installing nghttp2-client with apt-get when it is missing (as the test harness does for Postgres). */
export function ensureH2load(log: (line: string) => void): boolean {
  if (existsSync(binary)) return true;
  if (!isRoot()) {
    log("h2load missing and not root: install nghttp2-client for the framework-floor scenarios");
    return false;
  }
  log("installing nghttp2-client (h2load) with apt-get");
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const apt = ["-o", "DPkg::Lock::Timeout=300", "-q"];
    execFileSync("apt-get", [...apt, "update"], { stdio: "ignore", env });
    execFileSync("apt-get", [...apt, "install", "-y", "--no-install-recommends", "nghttp2-client"], {
      stdio: "ignore",
      env,
    });
  } catch (error) {
    log(`apt-get install nghttp2-client failed: ${(error as Error).message}`);
  }
  return existsSync(binary);
}

/** A unary gRPC request body: the 5-byte length-prefixed frame around the encoded message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export interface H2loadOptions {
  /** e.g. http://127.0.0.1:50051/grpc.health.v1.Health/Check */
  url: string;
  body: Uint8Array;
  headers?: Record<string, string>;
  /** Connections and streams per connection: in flight = clients * streams. */
  clients: number;
  streams: number;
  durationS: number;
}

/** Runs h2load for a duration over gRPC (POST, application/grpc, te: trailers); latencies from its log. */
export async function runH2load(options: H2loadOptions): Promise<LoadResult> {
  const dir = makeTempDir("h2load");
  const bodyFile = join(dir, "body.bin");
  const logFile = join(dir, "requests.tsv");
  writeFileSync(bodyFile, options.body);
  const headers = { "content-type": "application/grpc", te: "trailers", ...options.headers };
  const args = [
    "-c",
    String(options.clients),
    "-m",
    String(options.streams),
    "-D",
    `${Math.round(options.durationS * 1000)}ms`,
    "-d",
    bodyFile,
    "--log-file",
    logFile,
    ...Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
    options.url,
  ];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`h2load exited ${code}:\n${text}`))));
  });
  const seconds = Number(/finished in ([\d.]+)s/.exec(output)?.[1] ?? Number.NaN);
  const requests =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(output);
  const succeeded = Number(requests?.[4] ?? 0);
  const failed = Number(requests?.[5] ?? 0) + Number(requests?.[6] ?? 0);
  const latencies = readFileSync(logFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => Number(line.split("\t")[2]) / 1000)
    .sort((a, b) => a - b);
  rmSync(dir, { recursive: true, force: true });
  return {
    ops: succeeded,
    errors: failed,
    firstError: failed > 0 ? output.split("\n").find((line) => line.startsWith("requests:")) : undefined,
    elapsedMs: seconds * 1000,
    opsPerSecond: succeeded / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}
