import type { DescFile } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logging.js";
import type { ServiceMetrics } from "../metrics/service-metrics.js";
import type { ConnectionLimits } from "./connection-limits.js";
import { createGrpcJsServer, type GrpcJsServerOptions } from "./grpc-js-adapter.js";
import { listenGrpcJs, type GrpcJsListener } from "./grpc-js-listener.js";
import { registerHealthService, type HealthStatus } from "./health.js";
import { listenOnePort, type OnePortServer } from "./one-port-server.js";
import { registerReflectionService } from "./reflection.js";
import { createRpcHandler, rpcInterceptors, type HttpRoute } from "./rpc-handler.js";
import { createSinglePeerWarning } from "./single-peer-warning.js";
import { parseTrustedProxies } from "../trusted-proxies.js";

export interface ServeOptions {
  host: string;
  port: number;
  logger: Logger;
  health: HealthStatus;
  /** The service's metrics (runtime.metrics): every RPC is counted and timed in them. */
  metrics: ServiceMetrics;
  /** Registers the service's own RPCs. Health and reflection are added here. */
  routes: (router: ConnectRouter) => void;
  /** Extra files for reflection (e.g. the event schemas). */
  reflectionFiles?: DescFile[];
  /** Serve gRPC server reflection (GRPC_REFLECTION); off, its methods are UNIMPLEMENTED. Default on. */
  reflection?: boolean;
  interceptors?: Interceptor[];
  /** Plain HTTP endpoints by method and exact path, e.g. "GET /.well-known/jwks.json". */
  httpRoutes?: Record<string, HttpRoute>;
  corsOrigins: string[];
  maxRequestBytes: number;
  /** Bounds on slow, idle and surplus clients of the port (connection-limits.ts). */
  connectionLimits: ConnectionLimits;
  trustedProxies: string[];
  /**
   * A second port for gRPC callers, served by @grpc/grpc-js with the same routes and interceptors
   * (grpc-js-listener.ts), as the main port's gRPC is; kept for callers configured with it.
   * undefined: none. 0 picks a free port.
   */
  grpcJsPort?: number | undefined;
}

export interface ServiceServer extends OnePortServer {
  /** The grpc-js listener's port, when one was asked for. */
  grpcJsPort: number | undefined;
}

/**
 * Serves one service on one port: its RPCs, grpc.health.v1, gRPC reflection (unless turned off),
 * plain HTTP routes (gRPC by @grpc/grpc-js, the rest by connect-node); and, when asked, its gRPC
 * methods again on a second grpc-js port.
 */
export async function serve(options: ServeOptions): Promise<ServiceServer> {
  const trustedProxies = parseTrustedProxies(options.trustedProxies);
  // Shared by both listeners, so it warns once per service whichever port the calls arrive on.
  const interceptors = [
    ...(options.trustedProxies.length === 0 ? [createSinglePeerWarning(options.logger)] : []),
    ...(options.interceptors ?? []),
  ];
  const routes = (router: ConnectRouter) => {
    options.routes(router);
    registerHealthService(router, options.health);
    if (options.reflection ?? true) registerReflectionService(router, { files: options.reflectionFiles ?? [] });
  };
  const handler = createRpcHandler({
    routes,
    logger: options.logger,
    corsOrigins: options.corsOrigins,
    maxRequestBytes: options.maxRequestBytes,
    trustedProxies,
    metrics: options.metrics,
    interceptors,
    httpRoutes: options.httpRoutes,
  });
  // gRPC callers get the same routes and chain from @grpc/grpc-js, on the main port as on the second one.
  const grpcOptions: GrpcJsServerOptions = {
    routes,
    interceptors: rpcInterceptors({ ...options, interceptors }),
    maxRequestBytes: options.maxRequestBytes,
    maxConcurrentStreams: options.connectionLimits.maxConcurrentStreams,
    trustedProxies,
  };
  const main = await listenOnePort({
    host: options.host,
    port: options.port,
    handler,
    grpcServer: createGrpcJsServer(grpcOptions),
    logger: options.logger,
    limits: options.connectionLimits,
    metrics: options.metrics,
  });
  let grpcJs: GrpcJsListener | undefined;
  if (options.grpcJsPort !== undefined) {
    try {
      grpcJs = await listenGrpcJs({
        ...grpcOptions,
        host: options.host,
        port: options.grpcJsPort,
        logger: options.logger,
      });
    } catch (error) {
      await main.close(0);
      throw new Error(`cannot serve gRPC (grpc-js) on ${options.host}:${options.grpcJsPort}: ${String(error)}`, {
        cause: error,
      });
    }
  }
  return {
    port: main.port,
    grpcJsPort: grpcJs?.port,
    async close(graceMs) {
      await Promise.all([main.close(graceMs), grpcJs?.close(graceMs)]);
    },
  };
}
