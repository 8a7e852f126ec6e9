// Throwaway NATS JetStream servers (~50 ms each). Each test file starts its own, so stream and
// consumer names never collide between files running in parallel, and fault tests can stop, kill
// and restart theirs. Never the machine's own NATS: nothing here defaults to port 4222.
// natsServer() is the one way the harness runs nats-server: a single server here, the members of a
// cluster in nats-cluster.ts.
import type { ChildProcess } from "node:child_process";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { guaranteed } from "../../services/shared/guaranteed.js";
import { findBinaries } from "./ensure-binaries.js";
import { makeTempDir, spawnServer, startOnFreePort, stopServer, waitUntilReady } from "./server-process.js";

export interface NatsInstance {
  /** nats://127.0.0.1:PORT */
  readonly url: string;
  /** True when this is the server from NATS_URL, which the tests cannot stop: fault tests should skip. */
  readonly external: boolean;
  /** Graceful stop (SIGTERM). */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash: open connections drop at once. */
  kill(): Promise<void>;
  /** Starts again on the same port and store directory, so JetStream streams and messages survive. */
  start(): Promise<void>;
  restart(): Promise<void>;
}

export interface NatsServerOptions {
  /** Path of the nats-server binary. */
  binary: string;
  /** The client port, kept across restarts. */
  port: number;
  /** The server's name (JetStream in a cluster needs one per server). */
  name: string;
  /** Holds the JetStream store and the log; kept across restarts. */
  dir: string;
  /** More flags, e.g. a cluster's listen address and routes. */
  args?: string[];
}

/** One nats-server with JetStream on 127.0.0.1, which can be stopped, killed and started again. */
export interface NatsServer {
  /** Starts it (no-op while it runs) and resolves once it accepts clients with JetStream on. */
  start(): Promise<void>;
  /** Graceful stop (SIGTERM). */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash. */
  kill(): Promise<void>;
  isRunning(): boolean;
}

export function natsServer(options: NatsServerOptions): NatsServer {
  const logFile = join(options.dir, "nats.log");
  let child: ChildProcess | null = null;
  const isRunning = () => child !== null && child.exitCode === null && child.signalCode === null;
  return {
    isRunning,
    async start() {
      if (isRunning()) return;
      const args = [
        "-js",
        "-a",
        "127.0.0.1",
        "-p",
        String(options.port),
        "-sd",
        join(options.dir, "jetstream"),
        "--server_name",
        options.name,
        ...(options.args ?? []),
      ];
      const started = spawnServer({ command: options.binary, args, logFile, deathSignal: "SIGKILL" });
      child = started;
      await waitUntilReady(started, logFile, `nats-server ${options.name} on port ${options.port}`, () =>
        jetStreamReady(options.port),
      );
    },
    async stop() {
      if (child) await stopServer(child, "SIGTERM");
    },
    async kill() {
      if (child) await stopServer(child, "SIGKILL");
    },
  };
}

/** The nats-server binary; null when there is none (then only NATS_URL can stand in). */
export function natsServerBinary(): string | null {
  return findBinaries().natsServer;
}

export async function startNats(): Promise<NatsInstance> {
  const binary = natsServerBinary();
  // NATS_URL is used only when there is no nats-server to run (the global setup could not install
  // it): tests need servers they can kill and restart, and a server of their own per file.
  if (binary === null) {
    const url = process.env.NATS_URL;
    if (!url)
      throw new Error(
        "nats-server not found and NATS_URL not set (the test global setup installs nats-server with apt-get)",
      );
    return externalNats(url);
  }

  const dir = makeTempDir("nats");
  let server: NatsServer | undefined;
  const port = await startOnFreePort(async (candidate) => {
    server = natsServer({ binary, port: candidate, name: `test-${candidate}`, dir });
    await server.start();
  });
  const running = guaranteed(server, "startOnFreePort resolves only after a server started");
  return {
    url: `nats://127.0.0.1:${port}`,
    external: false,
    start: running.start,
    stop: running.stop,
    kill: running.kill,
    restart: async () => {
      await running.stop();
      await running.start();
    },
  };
}

/** Connects and reads the server's INFO line: accepting clients, with JetStream on. */
function jetStreamReady(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port, host: "127.0.0.1" });
    let received = "";
    socket.setTimeout(2_000, () => socket.destroy(new Error("no INFO from nats-server")));
    socket.on("error", reject);
    socket.on("data", (chunk) => {
      received += chunk.toString("utf8");
      if (!received.includes("\r\n")) return;
      socket.destroy();
      resolve(received.startsWith("INFO ") && received.includes('"jetstream":true'));
    });
  });
}

function externalNats(url: string): NatsInstance {
  const refuse = async () => {
    throw new Error(`cannot stop or restart the NATS at NATS_URL (${url}); install nats-server to run fault tests`);
  };
  return { url, external: true, stop: refuse, kill: refuse, start: refuse, restart: refuse };
}
