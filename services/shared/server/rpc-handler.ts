import type http from "node:http";
import { createContextValues, cors as connectCors, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createValidateInterceptor } from "@connectrpc/validate";
import cors from "cors";
import type { Logger } from "../logging.js";
import { createRpcMetricsInterceptor } from "../metrics/rpc-metrics-interceptor.js";
import type { ServiceMetrics } from "../metrics/service-metrics.js";
import { createErrorInterceptor, createLoggingInterceptor } from "./interceptors.js";
import type { NodeServerRequest, NodeServerResponse, RequestHandler } from "./one-port-server.js";
import { readRequestInfo, requestInfoKey } from "./request-info.js";
import type { TrustedProxies } from "../trusted-proxies.js";
import { createTextSafetyInterceptor } from "./text-safety.js";
import { answerUndecodableRequestsAsInvalid } from "./undecodable-requests.js";

/** A plain HTTP endpoint served beside the RPCs, e.g. GET /.well-known/jwks.json or POST /oauth2/token. */
export type HttpRoute = (request: NodeServerRequest, response: NodeServerResponse) => void | Promise<void>;

export interface RpcHandlerOptions {
  routes: (router: ConnectRouter) => void;
  logger: Logger;
  corsOrigins: string[];
  maxRequestBytes: number;
  trustedProxies: TrustedProxies;
  /** Where RPC counts, latencies and codes are recorded; none recorded without it. */
  metrics?: ServiceMetrics;
  /** Interceptors that run after logging, error mapping and validation (e.g. authentication). */
  interceptors?: Interceptor[];
  /** Plain HTTP endpoints by method and exact path, e.g. "GET /.well-known/jwks.json". */
  httpRoutes?: Record<string, HttpRoute>;
}

/**
 * The interceptor chain every call of a service runs, whichever engine serves it (connect-node here,
 * @grpc/grpc-js for gRPC: grpc-js-adapter.ts), outermost first: metrics and logging see the final code
 * and the whole time, errors are mapped inside them, and validation runs before anything else.
 */
export function rpcInterceptors(
  options: Pick<RpcHandlerOptions, "logger" | "metrics" | "interceptors">,
): Interceptor[] {
  return [
    ...(options.metrics ? [createRpcMetricsInterceptor(options.metrics)] : []),
    createLoggingInterceptor(options.logger),
    createErrorInterceptor(options.logger),
    createValidateInterceptor(),
    createTextSafetyInterceptor(),
    ...(options.interceptors ?? []),
  ];
}

/**
 * The request handler of one service: CORS for the configured origins, then Connect (Connect, gRPC
 * and gRPC-Web protocols) with the interceptor chain every service shares, then plain HTTP routes.
 * Interceptor order: the first is the outermost, so metrics and logging see the final code and the
 * whole time, and validation runs before authentication-free handlers see anything.
 */
export function createRpcHandler(options: RpcHandlerOptions): RequestHandler {
  const { logger } = options;
  const httpRoutes = options.httpRoutes ?? {};
  const connectHandler = connectNodeAdapter({
    routes(router) {
      options.routes(router);
      answerUndecodableRequestsAsInvalid(router);
    },
    readMaxBytes: options.maxRequestBytes,
    interceptors: rpcInterceptors(options),
    contextValues: (request) =>
      createContextValues().set(requestInfoKey, readRequestInfo(request, options.trustedProxies)),
    fallback(request, response) {
      const path = new URL(request.url ?? "/", "http://x").pathname;
      const route = httpRoutes[`${request.method} ${path}`];
      if (!route) {
        const allowed = Object.keys(httpRoutes)
          .filter((key) => key.slice(key.indexOf(" ") + 1) === path)
          .map((key) => key.slice(0, key.indexOf(" ")));
        if (allowed.length > 0) {
          response.writeHead(405, { "content-type": "text/plain", allow: allowed.join(", ") });
          response.end(`method not allowed: ${allowed.join(", ")} only\n`);
          return;
        }
        response.writeHead(404, { "content-type": "text/plain" });
        response.end("not found: this port serves gRPC, gRPC-Web and Connect\n");
        return;
      }
      Promise.resolve(route(request, response)).catch((error: unknown) => {
        logger.error({ err: error, path: request.url }, "http route failed");
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
    },
  });
  const corsMiddleware = cors({
    origin: options.corsOrigins.includes("*") ? true : options.corsOrigins,
    methods: [...connectCors.allowedMethods],
    allowedHeaders: [...connectCors.allowedHeaders, "Authorization", "X-Request-Id"],
    exposedHeaders: [...connectCors.exposedHeaders, "X-Request-Id", "Retry-After"],
    maxAge: 7200,
  });
  return (request, response) => {
    // The cors package is written for http's (req, res); http2's compatibility objects have the same surface.
    corsMiddleware(request as http.IncomingMessage, response as http.ServerResponse, () => {
      try {
        connectHandler(request, response);
      } catch (error) {
        // connect-node parses the request's URL synchronously (`new URL(path, "http://" + authority)`):
        // a Host or :authority that is no valid authority throws here, outside any promise, and
        // unanswered it would end the process.
        logger.debug({ err: error, path: request.url }, "request refused: its URL does not parse");
        if (!response.headersSent) response.writeHead(400, { "content-type": "text/plain" });
        response.end("bad request: the Host (or :authority) and the path do not form a valid URL\n");
      }
    });
  };
}
