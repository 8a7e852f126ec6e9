import { file_mintcoin_events_v1_user_events } from "../../gen/mintcoin/events/v1/user_events_pb.js";
import { streams } from "../shared/events/streams.js";
import type { Logger } from "../shared/logging.js";
import { openRuntime, type Runtime } from "../shared/runtime.js";
import { serve } from "../shared/server/serve.js";
import type { UserConfig } from "./config.js";
import { userMigrations } from "./migrations/index.js";
import { createUserRoutes } from "./routes.js";
import type { UserDatabase } from "./store/schema.js";

export interface UserServiceHandle {
  port: number;
  runtime: Runtime<UserDatabase>;
  /** Graceful stop: stop accepting, finish in-flight calls, flush the outbox, close pools. */
  close(): Promise<void>;
}

/** Wires the user service from its configuration and starts serving. Nothing listens on import. */
export async function startUserService(config: UserConfig, logger: Logger): Promise<UserServiceHandle> {
  const runtime = await openRuntime<UserDatabase>({
    service: "user",
    config,
    migrations: userMigrations,
    streams: [streams.user, streams.auth],
    logger,
    metricsPort: config.USER_METRICS_PORT,
  });
  try {
    const server = await serve({
      host: config.HOST,
      port: config.USER_PORT,
      logger,
      health: runtime.health,
      metrics: runtime.metrics,
      routes: createUserRoutes(),
      reflectionFiles: [file_mintcoin_events_v1_user_events],
      corsOrigins: config.CORS_ORIGINS,
      maxRequestBytes: config.MAX_REQUEST_BYTES,
      trustedProxies: config.TRUSTED_PROXIES,
    });
    logger.info({ host: config.HOST, port: server.port }, "UserService listening");
    return {
      port: server.port,
      runtime,
      async close() {
        await server.close(config.SHUTDOWN_GRACE_PERIOD);
        await runtime.close();
      },
    };
  } catch (error) {
    await runtime.close();
    throw error;
  }
}
