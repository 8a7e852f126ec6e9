import { createRemoteJWKSet } from "jose";
import { file_mintcoin_events_v1_user_events } from "../../gen/mintcoin/events/v1/user_events_pb.js";
import { UserService } from "../../gen/mintcoin/user/v1/user_pb.js";
import { createAccessTokenVerifier } from "../shared/auth/access-token.js";
import { createAuthenticationInterceptor } from "../shared/auth/authentication-interceptor.js";
import { createRevocationList, type RevocationList } from "../shared/auth/revocation-list.js";
import { createSessionAdmission, type SessionAdmission } from "../shared/auth/session-admission.js";
import { createTokenValidationClient } from "../shared/auth/token-validation-client.js";
import { systemClock, type Clock } from "../shared/clock.js";
import type { DurableConsumer } from "../shared/events/durable-consumer.js";
import type { StreamFollower } from "../shared/events/stream-follower.js";
import { streams } from "../shared/events/streams.js";
import type { Logger } from "../shared/logging.js";
import { openRuntime, type Runtime } from "../shared/runtime.js";
import { connectionLimitsFrom } from "../shared/server/connection-limits.js";
import { serve } from "../shared/server/serve.js";
import type { UserConfig } from "./config.js";
import { startAuthEventConsumers } from "./consumers/auth-event-consumers.js";
import { followProfileChanges } from "./consumers/profile-change-feed.js";
import { createActivityTracker } from "./domain/activity.js";
import { createIdentitySync } from "./domain/identity-sync.js";
import { createModerationService } from "./domain/moderation-service.js";
import { createProfileCache, type ProfileCache } from "./domain/profile-cache.js";
import { createProfileService } from "./domain/profile-service.js";
import { createProfileWriter } from "./domain/profile-writer.js";
import { createStandingCheck } from "./domain/standing.js";
import { createPublicDirectory } from "./domain/public-directory.js";
import { createPublicLookupLimit } from "./domain/public-lookup-limit.js";
import type { ReferralSuffixSource } from "./domain/referral-codes.js";
import { reservedKey } from "./domain/usernames.js";
import { createActivityInterceptor } from "./handlers/activity-interceptor.js";
import { userMigrations } from "./migrations/index.js";
import { createUserRoutes } from "./routes.js";
import type { UserDatabase } from "./store/schema.js";

export interface UserServiceHandle {
  port: number;
  /** The grpc-js port for internal gRPC callers (USER_GRPC_JS_PORT), undefined when off. */
  grpcJsPort: number | undefined;
  runtime: Runtime<UserDatabase>;
  /** The revocations this instance knows (undefined without NATS). */
  revocations: RevocationList | undefined;
  /** Whether a verified token may be used: the revocation list, or the auth service while the list is not current. */
  admission: SessionAdmission;
  /** The consumers of the auth service's events (undefined without NATS). */
  consumers: DurableConsumer | undefined;
  /** GetMe's profile cache and the feed that keeps it true (undefined without NATS or with PROFILE_CACHE_SIZE=0). */
  profileCache: { cache: ProfileCache; changes: StreamFollower } | undefined;
  /** Graceful stop: stop accepting, finish in-flight calls, stop consuming, flush the outbox, close pools. */
  close(): Promise<void>;
}

export interface UserServiceOverrides {
  clock?: Clock;
  /** Replaces the random tail of referral codes (e.g. to force a collision in a test). */
  referralSuffix?: ReferralSuffixSource;
}

/** Seconds of clock difference between the auth service and us that a token's times may show. */
const clockToleranceSeconds = 5;

/** How long a ValidateToken call to the auth service may take before the request is answered UNAVAILABLE. */
const sessionCheckTimeoutMs = 2_000;
/** The RPCs anyone may call without a token (user.proto). */
const publicMethods: ReadonlySet<string> = new Set(
  [UserService.method.getUser, UserService.method.getUserByUsername].map((m) => `${UserService.typeName}/${m.name}`),
);

/** Client networks whose public look-ups an instance counts at once (a few MB at most). */
const publicLookupNetworks = 10_000;

/** Wires the user service from its configuration and starts serving. Nothing listens on import. */
export async function startUserService(
  config: UserConfig,
  logger: Logger,
  overrides: UserServiceOverrides = {},
): Promise<UserServiceHandle> {
  const clock = overrides.clock ?? systemClock;
  const runtime = await openRuntime<UserDatabase>({
    service: "user",
    serviceTypeName: UserService.typeName,
    config,
    migrations: userMigrations,
    streams: [streams.user, streams.auth],
    logger,
    metricsPort: config.USER_METRICS_PORT,
  });
  let revocations: RevocationList | undefined;
  let consumers: DurableConsumer | undefined;
  let profileChanges: StreamFollower | undefined;
  const authService = createTokenValidationClient({
    baseUrl: config.authServiceUrl,
    timeoutMs: sessionCheckTimeoutMs,
  });
  const stopBackground = async () => {
    await consumers?.stop();
    await revocations?.close();
    await profileChanges?.close();
  };
  try {
    const { db, transact } = runtime;
    // Without NATS no instance would hear of another's changes: no cache then.
    const cache =
      runtime.nats && config.PROFILE_CACHE_SIZE > 0
        ? createProfileCache({
            clock,
            maxEntries: config.PROFILE_CACHE_SIZE,
            ttlMs: config.PROFILE_CACHE_TTL,
            isCurrent: () => profileChanges?.isCurrent() ?? false,
          })
        : undefined;
    if (runtime.nats && cache) profileChanges = followProfileChanges({ nats: runtime.nats, logger, cache });
    const writer = createProfileWriter({ db, transact, clock, cache });
    const profiles = createProfileService({
      db,
      transact,
      clock,
      writer,
      extraReservedUsernames: new Set(config.RESERVED_USERNAMES.map(reservedKey)),
      referralSuffix: overrides.referralSuffix,
    });
    const moderation = createModerationService({
      db,
      clock,
      writer,
      logger,
      defaultPhoneRegion: config.DEFAULT_PHONE_REGION,
    });
    const activity = createActivityTracker({ db, clock, writer, cache });
    const directory = createPublicDirectory({
      profiles,
      limit: createPublicLookupLimit({
        clock,
        maxRequests: config.PUBLIC_LOOKUP_IP_MAX_REQUESTS,
        windowMs: config.PUBLIC_LOOKUP_IP_WINDOW,
        maxNetworks: publicLookupNetworks,
      }),
    });

    if (runtime.nats) {
      revocations = createRevocationList({
        nats: runtime.nats,
        logger,
        lookbackMs: config.JWT_ACCESS_EXPIRATION + clockToleranceSeconds * 1000,
      });
      consumers = startAuthEventConsumers({
        nats: runtime.nats,
        logger,
        identity: createIdentitySync({ clock, writer, logger }),
        activity,
      });
    } else {
      logger.warn(
        { authServiceUrl: config.authServiceUrl },
        "without NATS_URL, every session is checked with the auth service (ValidateToken, at most once a second)",
      );
    }
    const nats = runtime.nats;
    const admission = createSessionAdmission({
      feed: revocations,
      feedConnected: () => nats?.isConnected() ?? false,
      askAuthService: authService.isSessionActive,
      localRefusal: createStandingCheck({ db, clock }),
      onAsked: (outcome) => runtime.metrics.sessionChecks.inc({ outcome }),
    });

    // Tokens are verified here, against the auth service's published keys: never a shared secret.
    const verifier = createAccessTokenVerifier({
      keys: createRemoteJWKSet(new URL(config.AUTH_JWKS_URL), { cooldownDuration: config.AUTH_JWKS_COOLDOWN }),
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      clockToleranceSeconds,
      clock,
    });

    const server = await serve({
      host: config.HOST,
      port: config.USER_PORT,
      logger,
      health: runtime.health,
      metrics: runtime.metrics,
      routes: createUserRoutes({ profiles, moderation, directory }),
      reflectionFiles: [file_mintcoin_events_v1_user_events],
      interceptors: [
        createAuthenticationInterceptor({
          verifier,
          // The public views need no token (user.proto); a valid one still identifies the caller.
          publicMethods,
          admit: admission.admit,
        }),
        createActivityInterceptor(activity, logger),
      ],
      reflection: config.GRPC_REFLECTION,
      corsOrigins: config.CORS_ORIGINS,
      maxRequestBytes: config.MAX_REQUEST_BYTES,
      connectionLimits: connectionLimitsFrom(config),
      trustedProxies: config.TRUSTED_PROXIES,
      grpcJsPort: config.USER_GRPC_JS_PORT,
    });
    logger.info({ host: config.HOST, port: server.port, grpcJsPort: server.grpcJsPort }, "UserService listening");
    return {
      port: server.port,
      grpcJsPort: server.grpcJsPort,
      runtime,
      revocations,
      admission,
      consumers,
      profileCache: cache && profileChanges ? { cache, changes: profileChanges } : undefined,
      async close() {
        await server.close(config.SHUTDOWN_GRACE_PERIOD);
        await stopBackground();
        await runtime.close();
      },
    };
  } catch (error) {
    await stopBackground();
    await runtime.close();
    throw error;
  }
}
