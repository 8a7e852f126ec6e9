import { z } from "zod";
import { isTrustedProxyEntry } from "../trusted-proxies.js";
import { duration, flag, list, optionalServerUrls, port, positiveInt, timeout } from "./env.js";

/**
 * Settings both services read. Each service's config adds its own on top of these.
 */
export const commonEnv = {
  HOST: z.string().min(1).default("127.0.0.1"),
  // The metrics port's interface, apart from HOST: HOST=0.0.0.0 publishes the RPC port, and the
  // metrics (method names, error rates, dependency state) should not follow it out by default.
  METRICS_HOST: z.string().min(1).default("127.0.0.1"),
  // gRPC server reflection lists every method and message; "off" for a port the public can reach.
  GRPC_REFLECTION: z
    .enum(["on", "off"])
    .default("on")
    .transform((value) => value === "on"),
  // Every server of the NATS cluster (or one), comma-separated: the client connects to any of them and
  // fails over to the others, also at start while one is down.
  NATS_URL: optionalServerUrls(["nats:", "tls:"]),
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  CORS_ORIGINS: list(),
  // Peers whose X-Forwarded-For is believed (load balancers); nobody's by default. Each entry an IP
  // address or a network (`10.0.0.0/8`): one that could never match is refused, not ignored.
  TRUSTED_PROXIES: list().refine((entries) => entries.every(isTrustedProxyEntry), {
    message: "expected IP addresses or networks (address/prefix), separated by commas",
  }),
  MIGRATE_ON_START: flag(true),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_POOL_SIZE: positiveInt(10),
  // Postgres by parts, for deployments that configure it so; a service's own *_DATABASE_URL wins over them.
  DATABASE_HOST: z.string().optional(),
  DATABASE_PORT: port(5432),
  DATABASE_NAME: z.string().optional(),
  DATABASE_USER: z.string().optional(),
  DATABASE_PASSWORD: z.string().optional(),
  SHUTDOWN_GRACE_PERIOD: duration("10s"),
  MAX_REQUEST_BYTES: positiveInt(64 * 1024),
  // Slow and idle clients on the RPC port (one-port-server.ts, README "Slow and idle clients"):
  // a new connection's first bytes (for HTTP/2 its whole preface), an HTTP/1.1 request's headers,
  // and a request's body (an HTTP/2 stream's request half) must each arrive within their bound.
  FIRST_BYTES_TIMEOUT: timeout("10s"),
  HTTP1_HEADERS_TIMEOUT: timeout("10s"),
  REQUEST_BODY_TIMEOUT: timeout("30s"),
  // An HTTP/2 SETTINGS value is 32 bits (RFC 9113 section 6.5.1).
  HTTP2_MAX_CONCURRENT_STREAMS: z.coerce.number().int().min(1).max(4_294_967_295).default(100),
  // Open connections per instance on the RPC port; one more is closed at once.
  MAX_CONNECTIONS: positiveInt(2048),
  JWT_ISSUER: z.string().min(1).default("mintcoin-auth"),
  JWT_AUDIENCE: z.string().min(1).default("mintcoin"),
};

type CommonEnv = z.infer<z.ZodObject<typeof commonEnv>>;

/**
 * The database a service uses: its own URL, else one built from the DATABASE_* variables
 * (with the service's name as the database unless DATABASE_NAME is set), else undefined, which
 * means the embedded PGlite under DATA_DIR.
 */
export function databaseUrlFor(
  serviceUrl: string | undefined,
  env: CommonEnv,
  service: "auth" | "user",
): string | undefined {
  if (serviceUrl) return serviceUrl;
  if (!env.DATABASE_HOST) return undefined;
  const url = new URL("postgres://");
  url.hostname = env.DATABASE_HOST;
  url.port = String(env.DATABASE_PORT);
  url.pathname = `/${env.DATABASE_NAME ?? `mintcoin_${service}`}`;
  if (env.DATABASE_USER) url.username = env.DATABASE_USER;
  if (env.DATABASE_PASSWORD) url.password = env.DATABASE_PASSWORD;
  return url.toString();
}
