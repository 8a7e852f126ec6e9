// Prototype process for the "second listener" question: a normal AuthService (startAuthService,
// configured by environment like main.ts), plus the very same routes, handlers and interceptor
// chain served by @grpc/grpc-js on GRPC_JS_PORT through grpc-js-bridge.ts. Internal callers would
// use that port; browsers and Connect clients keep the Connect one.
// `node --import tsx test/bench/auth-second-listener.ts` (environment as for dist/services/auth/main.js).
import { createContextValues } from "@connectrpc/connect";
import { createValidateInterceptor } from "@connectrpc/validate";
import * as grpc from "@grpc/grpc-js";
import { startAuthService } from "../../services/auth/app.js";
import { loadAuthConfig } from "../../services/auth/config.js";
import { createAuthServiceAuthentication } from "../../services/auth/handlers/authentication.js";
import { createAuthRoutes } from "../../services/auth/routes.js";
import { createLogger } from "../../services/shared/logging.js";
import { createRpcMetricsInterceptor } from "../../services/shared/metrics/rpc-metrics-interceptor.js";
import { createErrorInterceptor, createLoggingInterceptor } from "../../services/shared/server/interceptors.js";
import { requestInfoKey } from "../../services/shared/server/request-info.js";
import { addRoutesToGrpcJs } from "./grpc-js-bridge.js";

const config = loadAuthConfig();
const logger = createLogger("auth", config.LOG_LEVEL);
const handle = await startAuthService(config, logger);
const server = new grpc.Server();
addRoutesToGrpcJs(server, {
  routes: createAuthRoutes(handle.domain),
  // The chain rpc-handler.ts builds for the Connect listener, in the same order.
  interceptors: [
    createRpcMetricsInterceptor(handle.runtime.metrics),
    createLoggingInterceptor(logger),
    createErrorInterceptor(logger),
    createValidateInterceptor(),
    createAuthServiceAuthentication(handle.domain),
  ],
  contextValues: (call) =>
    createContextValues().set(requestInfoKey, {
      requestId: crypto.randomUUID(),
      ip: call.getPeer().replace(/:\d+$/, ""),
      userAgent: String(call.metadata.get("user-agent")[0] ?? "").slice(0, 512),
    }),
});
await new Promise<void>((resolve, reject) =>
  server.bindAsync(`127.0.0.1:${process.env.GRPC_JS_PORT}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
);
const stop = () => {
  server.tryShutdown(() => undefined);
  void handle.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
