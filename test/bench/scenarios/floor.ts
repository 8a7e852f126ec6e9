// Scenario 1, the framework floor: the cheapest RPC there is (grpc.health.v1.Health/Check) on our
// server stack, and on a bare @grpc/grpc-js server, in the same run. h2load is the main client (a
// Node client cannot load a server past ~3k calls/s); the Node clients' runs are shown beside it.
import { fileURLToPath } from "node:url";
import { type NodeProcess, spawnNode } from "../../support/node-process.js";
import { freePort, waitUntilReady } from "../../support/server-process.js";
import type { BenchClient } from "../clients.js";
import {
  type H2loadShape,
  h2loadShapes,
  measuredH2load,
  measuredLoad,
  nodeConcurrencies,
  runSeconds,
  type BenchContext,
  warmUpH2load,
} from "../context.js";
import { grpcFrame } from "../h2load.js";
import { named } from "../process-names.js";
import { compareByShape, h2loadHeadline, scenarioFromRuns, type RunRow, type ScenarioResult } from "../report.js";
import { connect as tcpConnect } from "node:net";

const floorServerScript = fileURLToPath(new URL("../floor-server.ts", import.meta.url));
const healthPath = "/grpc.health.v1.Health/Check";
const emptyCheck = grpcFrame(new Uint8Array(0));

export interface FloorServer {
  proc: NodeProcess;
  url: string;
}

export type FloorServers = Record<"grpc-js-bare" | "grpc-js-bridge" | "connect-bare", Promise<FloorServer>>;

/** Starts the comparison servers at once (in parallel with everything else that starts); they idle until measured. */
export function startFloorServers(): FloorServers {
  const start = async (mode: string): Promise<FloorServer> => {
    const port = await freePort();
    const proc = named(
      spawnNode({
        name: mode,
        script: floorServerScript,
        args: [mode, String(port)],
        env: { PATH: process.env.PATH, NODE_ENV: "production" },
      }),
    );
    // Listening is its readiness: each mode binds its port once its Check handler is in place.
    await waitUntilReady(proc.child, proc.logFile, `${mode} on port ${port}`, () => canConnect(port), 60_000);
    return { proc, url: `http://127.0.0.1:${port}${healthPath}` };
  };
  return {
    "grpc-js-bare": start("grpc-js-bare"),
    "grpc-js-bridge": start("grpc-js-bridge"),
    "connect-bare": start("connect-bare"),
  };
}

export async function floorScenarios(ctx: BenchContext, servers: FloorServers): Promise<ScenarioResult[]> {
  const shapes = h2loadShapes(ctx);
  try {
    ctx.log("empty-rpc-connect: Health/Check on the auth service's port");
    const ours = await emptyRpcRuns(ctx, [ctx.auth], `${ctx.auth.baseUrl}${healthPath}`, ctx.clients, shapes);
    ctx.log("empty-rpc-grpc-js: Health/Check on a bare @grpc/grpc-js server");
    const bareServer = await servers["grpc-js-bare"];
    const bare = await emptyRpcRuns(ctx, [bareServer.proc], bareServer.url, [], shapes);
    ctx.log("our health routes and interceptors on the services' optional @grpc/grpc-js listener");
    const bridgeServer = await servers["grpc-js-bridge"];
    const bridge = await emptyRpcRuns(ctx, [bridgeServer.proc], bridgeServer.url, [], shapes);
    ctx.log("reference: connect-node with no interceptors");
    const connectServer = await servers["connect-bare"];
    const connectBare = await emptyRpcRuns(ctx, [connectServer.proc], connectServer.url, [], shapes);

    const baseline = scenarioFromRuns(
      "empty-rpc-grpc-js",
      bare,
      {
        notes: ["the baseline: @grpc/grpc-js 1.14.7 with a hand-written Check, protobuf-es encoding, no interceptors"],
      },
      h2loadHeadline,
    );
    const compare = (
      name: string,
      runs: RunRow[],
      fields: Partial<ScenarioResult>,
      target?: { atLeast: number; text: string },
    ) => compareByShape(scenarioFromRuns(name, runs, fields, h2loadHeadline), baseline, target);
    return [
      compare(
        "empty-rpc-connect",
        ours,
        {
          notes: [
            "our full stack: one-port server (h1/h2 sniffing), CORS, connect-node 2.1.2 gRPC protocol, interceptors (metrics, logging, errors, protovalidate)",
            "h2load is the main client: a Node gRPC or Connect client saturates its own core near 3k calls/s",
          ],
        },
        { atLeast: 0.5, text: ">= 0.5x bare grpc-js per service-CPU-second" },
      ),
      baseline,
      compare("empty-rpc-grpc-js-bridge", bridge, {
        notes: [
          "the services' optional grpc-js listener (services/shared/server/grpc-js-listener.ts): the same health handlers and interceptor chain served by @grpc/grpc-js",
        ],
      }),
      compare("empty-rpc-connect-no-interceptors", connectBare, {
        notes: ["reference: connect-node on plain node:http2 with the health routes only: the framework's own cost"],
      }),
    ];
  } finally {
    await Promise.all(
      Object.values(servers).map((server) =>
        server.then(
          (s) => s.proc.stop(),
          () => undefined,
        ),
      ),
    );
  }
}

async function emptyRpcRuns(
  ctx: BenchContext,
  processes: NodeProcess[],
  url: string,
  clients: BenchClient[],
  shapes: H2loadShape[],
): Promise<RunRow[]> {
  const runs: RunRow[] = [];
  if (ctx.h2load) {
    await warmUpH2load(ctx, { url, body: emptyCheck });
    for (const shape of shapes) runs.push(await measuredH2load(ctx, processes, shape, { url, body: emptyCheck }));
  }
  for (const client of clients) {
    await client.health();
    for (const inFlight of nodeConcurrencies(ctx)) {
      runs.push(
        await measuredLoad(ctx, processes, client.kind, inFlight, {
          durationMs: runSeconds(ctx, "cheap") * 1000,
          op: () => client.health(),
        }),
      );
    }
  }
  return runs;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
