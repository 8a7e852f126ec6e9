// The optional second port (AUTH_GRPC_JS_PORT / USER_GRPC_JS_PORT): the same grpc-js server the main
// port hands its gRPC streams to (grpc-js-adapter.ts), bound to a port of its own. Kept for callers
// configured with it before the main port served gRPC with @grpc/grpc-js; it serves gRPC only (no
// Connect, gRPC-Web, CORS or plain HTTP routes) and applies no slow-client bounds but the stream cap.
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../logging.js";
import { createGrpcJsServer, type GrpcJsServerOptions } from "./grpc-js-adapter.js";

export interface GrpcJsListenerOptions extends GrpcJsServerOptions {
  host: string;
  port: number;
  logger: Logger;
}

export interface GrpcJsListener {
  port: number;
  /** Stops accepting, lets in-flight calls finish for up to `graceMs`, then cancels what is left. */
  close(graceMs: number): Promise<void>;
}

export async function listenGrpcJs(options: GrpcJsListenerOptions): Promise<GrpcJsListener> {
  const server = createGrpcJsServer(options);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    port,
    async close(graceMs) {
      let timer: NodeJS.Timeout | undefined;
      const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
      if (await Promise.race([drained.then(() => false), timedOut])) {
        options.logger.warn("shutdown grace period over; cancelling open calls on the grpc-js listener");
        server.forceShutdown();
      }
      clearTimeout(timer);
    },
  };
}
