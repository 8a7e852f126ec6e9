import { sql, type Kysely, type Migration } from "kysely";
import { createDatabase, type DatabaseHandle } from "./database/create-database.js";
import { migrateToLatest } from "./database/migrate.js";
import { createJetStreamPublisher } from "./events/jetstream-publisher.js";
import { createNatsLink, type NatsLink } from "./events/nats-link.js";
import type { StreamDefinition } from "./events/streams.js";
import type { Logger } from "./logging.js";
import { startMetricsServer, type MetricsServer } from "./metrics/metrics-server.js";
import { registerOutboxMetrics } from "./metrics/outbox-metrics.js";
import { countPublishedEvents } from "./metrics/published-events.js";
import { createServiceMetrics, type ServiceMetrics } from "./metrics/service-metrics.js";
import { createOutboxRelay, type OutboxRelay } from "./outbox/relay.js";
import { outboxView, type OutboxDatabase } from "./outbox/outbox-table.js";
import { createTransact, type Transact } from "./outbox/transact.js";
import { createHealthStatus, type HealthStatus } from "./server/health.js";

export interface RuntimeConfig {
  METRICS_HOST: string;
  databaseUrl: string | undefined;
  DATA_DIR: string;
  DATABASE_POOL_SIZE: number;
  MIGRATE_ON_START: boolean;
  /** The NATS servers (one, or the members of a cluster). */
  NATS_URL?: readonly string[] | undefined;
  NATS_STREAM_REPLICAS: number;
}

export interface RuntimeOptions {
  service: "auth" | "user";
  /** The gRPC service's full name, e.g. mintcoin.auth.v1.AuthService: health answers for it and for "". */
  serviceTypeName: string;
  config: RuntimeConfig;
  migrations: Record<string, Migration>;
  /** Streams this service publishes to or reads from; created when missing. */
  streams: StreamDefinition[];
  logger: Logger;
  /** Port of the Prometheus endpoint (0: any free port); undefined serves no metrics. */
  metricsPort: number | undefined;
  /** How often readiness re-checks the database and NATS. */
  readinessIntervalMs?: number;
}

/** What every service runs on: its database, its NATS link, its outbox relay and its health. */
export interface Runtime<DB> {
  database: DatabaseHandle<DB>;
  db: Kysely<DB>;
  transact: Transact<DB>;
  /** Publish soon: call after a write outside `transact` (a single autocommit statement) that recorded events. */
  wakeRelay(): void;
  nats: NatsLink | undefined;
  health: HealthStatus;
  /** This service's Prometheus registry and series; give it to serve() for the RPC metrics. */
  metrics: ServiceMetrics;
  /** The /metrics endpoint, unless the metrics port is "off". */
  metricsServer: MetricsServer | undefined;
  /** The relay, once NATS is connected. */
  relay(): OutboxRelay | undefined;
  close(): Promise<void>;
}

/**
 * Opens a service's dependencies in order: database (and migrations), then NATS in the background,
 * then the outbox relay as soon as NATS is up. Without NATS_URL, events stay in the outbox, and we
 * say so once.
 */
export async function openRuntime<DB extends OutboxDatabase>(options: RuntimeOptions): Promise<Runtime<DB>> {
  const { config, logger } = options;
  const dataDir = `${config.DATA_DIR}/${options.service}`;
  const database = await createDatabase<DB>({
    url: config.databaseUrl,
    dataDir,
    poolSize: config.DATABASE_POOL_SIZE,
    logger,
  });
  logger.info({ kind: database.kind, location: database.location }, "database opened");
  const metrics = createServiceMetrics();
  registerOutboxMetrics(metrics, outboxView(database.db), logger);
  let metricsServer: MetricsServer | undefined;
  try {
    if (config.MIGRATE_ON_START) await migrateToLatest(database.db as Kysely<unknown>, options.migrations, logger);
    if (options.metricsPort !== undefined) {
      metricsServer = await startMetricsServer({
        host: config.METRICS_HOST,
        port: options.metricsPort,
        metrics,
        logger,
      }).catch((error: unknown) => {
        const variable = `METRICS_HOST, ${options.service.toUpperCase()}_METRICS_PORT`;
        throw new Error(
          `cannot serve metrics on ${config.METRICS_HOST}:${options.metricsPort} (${variable}): ${String(error)}`,
          { cause: error },
        );
      });
    }
  } catch (error) {
    await database.close();
    throw error;
  }

  const health = createHealthStatus({ "": "NOT_SERVING" });
  let relay: OutboxRelay | undefined;
  const wakeRelay = () => relay?.wake();
  const transact = createTransact(database.db, wakeRelay);

  let nats: NatsLink | undefined;
  /**
   * The relay's own database connection (Postgres): taken from the RPCs' pool, the relay's
   * transaction would queue behind every RPC waiting for a connection at peak, and each event with it.
   */
  let relayDatabase: DatabaseHandle<DB> | undefined;
  /** Set by close(): a NATS link that becomes ready after it starts no relay (nothing would stop it). */
  let closing = false;
  if (config.NATS_URL) {
    nats = createNatsLink({
      servers: config.NATS_URL,
      name: `mintcoin-${options.service}`,
      streams: options.streams,
      replicas: config.NATS_STREAM_REPLICAS,
      logger,
    });
    nats.ready
      .then(async ({ publish }) => {
        if (closing) return;
        if (database.kind === "postgres") {
          const own = await createDatabase<DB>({ url: config.databaseUrl, dataDir, poolSize: 1, logger });
          // close() has begun: it will find no relay or relay database to stop, so this one closes here.
          if (closing) return own.close();
          relayDatabase = own;
        }
        relay = createOutboxRelay({
          db: outboxView(relayDatabase?.db ?? database.db),
          publisher: countPublishedEvents(createJetStreamPublisher(publish), metrics),
          logger,
        });
        relay.start();
        // Ready as soon as NATS is, not at the next periodic check (which runs before NATS is up at start).
        void checkReadiness();
      })
      .catch(() => undefined);
  } else {
    logger.warn("NATS_URL is not set: events are kept in the outbox and published once NATS is configured");
  }

  const checkReadiness = async () => {
    const databaseUp = await sql`select 1`.execute(database.db).then(
      () => true,
      () => false,
    );
    const natsUp = nats ? nats.isConnected() : true;
    metrics.dependencyUp.set({ dependency: "database" }, databaseUp ? 1 : 0);
    if (nats) metrics.dependencyUp.set({ dependency: "nats" }, natsUp ? 1 : 0);
    const status = databaseUp && natsUp ? "SERVING" : "NOT_SERVING";
    health.set("", status);
    health.set(options.serviceTypeName, status);
  };
  await checkReadiness();
  const readinessTimer = setInterval(() => void checkReadiness(), options.readinessIntervalMs ?? 5_000);
  readinessTimer.unref();

  return {
    database,
    db: database.db,
    transact,
    wakeRelay,
    nats,
    health,
    metrics,
    metricsServer,
    relay: () => relay,
    async close() {
      closing = true;
      clearInterval(readinessTimer);
      await metricsServer?.close();
      health.shutdown();
      await relay?.stop();
      await nats?.close();
      await relayDatabase?.close();
      await database.close();
    },
  };
}
