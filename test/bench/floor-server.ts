// The empty-RPC servers of the framework floor, each run as its own process so that its CPU is
// measured alone (`node --import tsx floor-server.ts MODE PORT`). All answer grpc.health.v1.Health/Check:
// - grpc-js-bare:   @grpc/grpc-js and a hand-written Check, nothing else (the baseline);
// - grpc-js-bridge: our health routes through our interceptor chain (rpcInterceptors) served by the
//                   grpc-js adapter that also serves the main port's gRPC, on a port of its own
//                   (grpc-js-listener.ts), to tell the adapter's cost from the one-port front's;
// - connect-bare:   connect-node on node:http2 with our health routes and no interceptors, to tell
//                   the framework's cost from our interceptors'.
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";
import { createLogger } from "../../services/shared/logging.js";
import { createServiceMetrics } from "../../services/shared/metrics/service-metrics.js";
import { listenGrpcJs } from "../../services/shared/server/grpc-js-listener.js";
import { createHealthStatus, registerHealthService } from "../../services/shared/server/health.js";
import { rpcInterceptors } from "../../services/shared/server/rpc-handler.js";

const [mode, portText] = process.argv.slice(2);
const port = Number(portText);
const health = createHealthStatus({ "": "SERVING" });

async function bindGrpcJs(server: grpc.Server): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) =>
      error ? reject(error) : resolve(),
    ),
  );
}

if (mode === "grpc-js-bare") {
  const server = new grpc.Server();
  const response = Buffer.from(
    toBinary(
      HealthCheckResponseSchema,
      create(HealthCheckResponseSchema, { status: HealthCheckResponse_ServingStatus.SERVING }),
    ),
  );
  server.addService(
    {
      check: {
        path: "/grpc.health.v1.Health/Check",
        requestStream: false,
        responseStream: false,
        requestSerialize: (value: Buffer) => value,
        requestDeserialize: (bytes: Buffer) => fromBinary(HealthCheckRequestSchema, bytes),
        responseSerialize: (value: Buffer) => value,
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    },
    { check: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, response) },
  );
  await bindGrpcJs(server);
} else if (mode === "grpc-js-bridge") {
  const logger = createLogger("bench", "warn");
  await listenGrpcJs({
    host: "127.0.0.1",
    port,
    logger,
    routes: (router) => registerHealthService(router, health),
    interceptors: rpcInterceptors({ logger, metrics: createServiceMetrics() }),
    maxRequestBytes: 65_536,
    trustedProxies: new Set(),
  });
} else if (mode === "connect-bare") {
  const server = http2.createServer(connectNodeAdapter({ routes: (router) => registerHealthService(router, health) }));
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.on("SIGTERM", () => process.exit(0));
