import { AuthService } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { file_mintcoin_events_v1_auth_events } from "../../gen/mintcoin/events/v1/auth_events_pb.js";
import { file_mintcoin_events_v1_notify } from "../../gen/mintcoin/events/v1/notify_pb.js";
import { systemClock, type Clock } from "../shared/clock.js";
import type { DurableConsumer } from "../shared/events/durable-consumer.js";
import { notifyStream, streams } from "../shared/events/streams.js";
import { ConfigError } from "../shared/config/env.js";
import type { Logger } from "../shared/logging.js";
import { countOtpSends } from "../shared/metrics/otp-sends.js";
import { openRuntime, type Runtime } from "../shared/runtime.js";
import { connectionLimitsFrom } from "../shared/server/connection-limits.js";
import { serve } from "../shared/server/serve.js";
import { buildAuthDomain, type AuthDomain } from "./build-domain.js";
import type { AuthConfig } from "./config.js";
import { startModerationConsumer } from "./consumers/moderation-consumer.js";
import { createLogDelivery } from "./delivery/log-delivery.js";
import { createNatsDelivery } from "./delivery/nats-delivery.js";
import type { OtpDelivery } from "./delivery/otp-delivery.js";
import { createAuthServiceAuthentication } from "./handlers/authentication.js";
import { createAuthHttpRoutes } from "./http-routes.js";
import { authMigrations } from "./migrations/index.js";
import { createAuthRoutes } from "./routes.js";
import type { AuthDatabase } from "./store/schema.js";

export interface AuthServiceHandle {
  port: number;
  /** The grpc-js port for internal gRPC callers (AUTH_GRPC_JS_PORT), undefined when off. */
  grpcJsPort: number | undefined;
  runtime: Runtime<AuthDatabase>;
  /** The domain services behind the RPCs (key ring, cleanup, ...), for operations and tests. */
  domain: AuthDomain;
  /** The consumer of the user service's moderation events (undefined without NATS). */
  moderationConsumer: DurableConsumer | undefined;
  /** Graceful stop: stop accepting, finish in-flight calls, flush the outbox, close pools. */
  close(): Promise<void>;
}

export interface AuthServiceOverrides {
  clock?: Clock;
  /** Replaces the configured delivery (e.g. to capture codes in a test). */
  delivery?: OtpDelivery;
}

/** Wires the auth service from its configuration and starts serving. Nothing listens on import. */
export async function startAuthService(
  config: AuthConfig,
  logger: Logger,
  overrides: AuthServiceOverrides = {},
): Promise<AuthServiceHandle> {
  const clock = overrides.clock ?? systemClock;
  if (!overrides.delivery) requireDeliveryChoice(config);
  const runtime = await openRuntime<AuthDatabase>({
    service: "auth",
    serviceTypeName: AuthService.typeName,
    config,
    migrations: authMigrations,
    streams: [streams.auth, notifyStream(config.OTP_EXPIRATION_MINUTES * 60_000), streams.user],
    logger,
    metricsPort: config.AUTH_METRICS_PORT,
  });
  let domain: AuthDomain | undefined;
  let moderationConsumer: DurableConsumer | undefined;
  try {
    const delivery = overrides.delivery ?? configuredDelivery(config, runtime, logger);
    domain = await buildAuthDomain(config, runtime, {
      clock,
      delivery: countOtpSends(delivery, runtime.metrics),
      logger,
    });

    if (runtime.nats) {
      moderationConsumer = startModerationConsumer({ nats: runtime.nats, logger, reaction: domain.moderation });
    } else {
      logger.warn("without NATS_URL, suspensions and bans from the user service do not reach sign-in");
    }

    const server = await serve({
      host: config.HOST,
      port: config.AUTH_PORT,
      logger,
      health: runtime.health,
      metrics: runtime.metrics,
      routes: createAuthRoutes(domain),
      httpRoutes: createAuthHttpRoutes(config, domain, logger),
      interceptors: [createAuthServiceAuthentication(domain)],
      reflectionFiles: [file_mintcoin_events_v1_auth_events, file_mintcoin_events_v1_notify],
      reflection: config.GRPC_REFLECTION,
      corsOrigins: config.CORS_ORIGINS,
      maxRequestBytes: config.MAX_REQUEST_BYTES,
      connectionLimits: connectionLimitsFrom(config),
      trustedProxies: config.TRUSTED_PROXIES,
      grpcJsPort: config.AUTH_GRPC_JS_PORT,
    });
    logger.info(
      { host: config.HOST, port: server.port, grpcJsPort: server.grpcJsPort, otpDelivery: delivery.channelName },
      "AuthService listening",
    );

    const started = domain;
    return {
      port: server.port,
      grpcJsPort: server.grpcJsPort,
      runtime,
      domain: started,
      moderationConsumer,
      async close() {
        await server.close(config.SHUTDOWN_GRACE_PERIOD);
        await moderationConsumer?.stop();
        await started.close();
        await runtime.close();
      },
    };
  } catch (error) {
    await moderationConsumer?.stop();
    await domain?.close();
    await runtime.close();
    throw error;
  }
}

/**
 * The delivery the configuration chose, checked before anything is opened. Never the log as a
 * stand-in for a missing NATS link: a code in the log is a live credential (config.ts).
 */
function requireDeliveryChoice(config: AuthConfig): void {
  if (config.otpDelivery === "nats" && !config.NATS_URL) {
    throw new ConfigError("invalid configuration:\n  NATS_URL: required by OTP_DELIVERY=nats");
  }
  if (config.otpDelivery === undefined) {
    throw new ConfigError(
      "invalid configuration:\n  OTP_DELIVERY: not set, and the database is not the embedded one; set NATS_URL (codes go to the notification service) or OTP_DELIVERY=log (codes are written to the log)",
    );
  }
}

function configuredDelivery(config: AuthConfig, runtime: Runtime<AuthDatabase>, logger: Logger): OtpDelivery {
  if (config.otpDelivery === "nats" && runtime.nats) return createNatsDelivery(runtime.nats);
  if (config.otpDelivery === "log") return createLogDelivery(logger);
  throw new Error("no OTP delivery configured"); // requireDeliveryChoice ran first
}
