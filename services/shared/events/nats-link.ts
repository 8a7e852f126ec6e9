import { jetstream, jetstreamManager, type JetStreamClient } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../logging.js";
import { createPipelinedPublish, type JetStreamPublish } from "./pipelined-publish.js";
import { ensureStreams, type StreamDefinition } from "./streams.js";

export interface NatsLinkReady {
  connection: NatsConnection;
  js: JetStreamClient;
  /** Publishes to a stream and waits for its acknowledgement; what every JetStream publish of the service uses. */
  publish: JetStreamPublish;
}

export interface NatsLink {
  /** Resolves once the first connection is up and the streams exist; never rejects while retrying. */
  ready: Promise<NatsLinkReady>;
  /** True while connected (for readiness). */
  isConnected(): boolean;
  close(): Promise<void>;
}

export interface NatsLinkOptions {
  /** One server, or several members of a cluster: the client connects to any and fails over to the others. */
  servers: readonly string[];
  name: string;
  streams: StreamDefinition[];
  replicas: number;
  logger: Logger;
}

/**
 * Connects to NATS in the background and keeps reconnecting forever, so a service starts and serves
 * while NATS is down: its events wait in the outbox until the link is up. The streams are ensured on
 * every (re)connect, because a NATS server that lost its storage comes back without them.
 */
export function createNatsLink(options: NatsLinkOptions): NatsLink {
  const { logger } = options;
  let connection: NatsConnection | undefined;
  let closed = false;
  let connected = false;

  async function ensure(nc: NatsConnection): Promise<void> {
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, options.streams, options.replicas);
  }

  async function watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        connected = false;
        logger.warn({ server: status.server }, "NATS disconnected; reconnecting");
      } else if (status.type === "reconnect") {
        connected = true;
        logger.info({ server: status.server }, "NATS reconnected");
        ensure(nc).catch((error: unknown) => logger.warn({ err: error }, "could not ensure JetStream streams"));
      }
    }
  }

  async function connectLoop(): Promise<NatsLinkReady> {
    let delayMs = 250;
    let warned = false;
    for (;;) {
      if (closed) throw new Error("NATS link closed before it connected");
      try {
        const nc = await connect({
          servers: [...options.servers],
          name: options.name,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          timeout: 3_000,
          // Every request (a pull consumer's fetch, a stream lookup) by default builds two Errors up
          // front (a stack for a possible failure and a timeout). A failed request still says what
          // failed; it only loses the caller's stack. Publishes do not use requests (pipelined-publish.ts).
          noAsyncTraces: true,
        });
        if (closed) {
          await nc.close();
          throw new Error("NATS link closed before it connected");
        }
        connection = nc;
        await ensure(nc);
        connected = true;
        void watchStatus(nc);
        logger.info(
          { servers: options.servers.map(redact), server: nc.getServer() },
          "NATS connected, JetStream streams ready",
        );
        return { connection: nc, js: jetstream(nc), publish: createPipelinedPublish(nc) };
      } catch (error) {
        if (closed) throw error;
        if (!warned) {
          logger.warn(
            { err: error, servers: options.servers.map(redact) },
            "NATS unreachable; retrying in the background",
          );
          warned = true;
        }
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        delayMs = Math.min(delayMs * 2, 5_000);
      }
    }
  }

  const ready = connectLoop();
  // Nobody may be awaiting `ready` when the link is closed early; that is not an error.
  ready.catch(() => undefined);

  return {
    ready,
    isConnected: () => connected,
    async close() {
      closed = true;
      connected = false;
      if (connection && !connection.isClosed()) await connection.drain().catch(() => connection?.close());
    },
  };
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable NATS_URL)";
  }
}
