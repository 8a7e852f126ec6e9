import type { DescFile } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logging.js";
import type { ServiceMetrics } from "../metrics/service-metrics.js";
import { registerHealthService, type HealthStatus } from "./health.js";
import { listenOnePort, type OnePortServer } from "./one-port-server.js";
import { registerReflectionService } from "./reflection.js";
import { createRpcHandler, type HttpRoute } from "./rpc-handler.js";

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
  interceptors?: Interceptor[];
  httpRoutes?: Record<string, HttpRoute>;
  corsOrigins: string[];
  maxRequestBytes: number;
  trustedProxies: string[];
}

/** Serves one service on one port: its RPCs, grpc.health.v1, gRPC reflection, plain HTTP routes. */
export function serve(options: ServeOptions): Promise<OnePortServer> {
  const handler = createRpcHandler({
    routes(router) {
      options.routes(router);
      registerHealthService(router, options.health);
      registerReflectionService(router, { files: options.reflectionFiles ?? [] });
    },
    logger: options.logger,
    corsOrigins: options.corsOrigins,
    maxRequestBytes: options.maxRequestBytes,
    trustedProxies: new Set(options.trustedProxies),
    metrics: options.metrics,
    interceptors: options.interceptors,
    httpRoutes: options.httpRoutes,
  });
  return listenOnePort({ host: options.host, port: options.port, handler, logger: options.logger });
}
