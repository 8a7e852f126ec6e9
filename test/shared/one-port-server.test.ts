import http2 from "node:http2";
import net from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Health,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";
import { commonEnv } from "../../services/shared/config/common.js";
import { parseEnv } from "../../services/shared/config/env.js";
import { createLogger } from "../../services/shared/logging.js";
import { createServiceMetrics } from "../../services/shared/metrics/service-metrics.js";
import { connectionLimitsFrom } from "../../services/shared/server/connection-limits.js";
import { waitFor } from "../support/index.js";
import { listenOnePort, type OnePortServer } from "../../services/shared/server/one-port-server.js";
import { createGrpcJsServer } from "../../services/shared/server/grpc-js-adapter.js";
import { createRpcHandler, rpcInterceptors } from "../../services/shared/server/rpc-handler.js";

// The server every service runs on: one port for gRPC (HTTP/2) and browsers (HTTP/1.1), CORS for
// configured origins, plain GET routes, and a graceful close that lets calls in flight finish.

const logger = createLogger("test", "silent");
const allowedOrigin = "http://app.example.test";

/** Calls that have reached the handler, so a test knows when they are in flight. */
let callsInHandler = 0;

/** A health service whose Check takes `delayMs`, so a call can be in flight during shutdown. */
function slowHealth(delayMs: number) {
  return (router: Parameters<Parameters<typeof createRpcHandler>[0]["routes"]>[0]) => {
    router.service(Health, {
      async check() {
        callsInHandler++;
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return create(HealthCheckResponseSchema, { status: HealthCheckResponse_ServingStatus.SERVING });
      },
    });
  };
}

async function startServer(delayMs = 0): Promise<OnePortServer> {
  const limits = connectionLimitsFrom(parseEnv(commonEnv, {})); // the defaults
  const handler = createRpcHandler({
    routes: slowHealth(delayMs),
    logger,
    corsOrigins: [allowedOrigin],
    maxRequestBytes: 1024,
    trustedProxies: new Set(),
    httpRoutes: { "GET /hello": (_request, response) => void response.end("hi") },
  });
  return listenOnePort({
    host: "127.0.0.1",
    port: 0,
    handler,
    // gRPC over HTTP/2 is served by @grpc/grpc-js with the same routes, as serve() does it.
    grpcServer: createGrpcJsServer({
      routes: slowHealth(delayMs),
      interceptors: rpcInterceptors({ logger }),
      maxRequestBytes: 1024,
      maxConcurrentStreams: limits.maxConcurrentStreams,
      trustedProxies: new Set(),
    }),
    logger,
    limits,
    metrics: createServiceMetrics(),
  });
}

describe("one-port server", () => {
  let server: OnePortServer;
  let baseUrl: string;

  beforeAll(async () => {
    server = await startServer();
    baseUrl = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.close(1_000));

  it("serves gRPC over HTTP/2, Connect over HTTP/1.1 and HTTP/2, and gRPC-Web over HTTP/1.1 on one port", async () => {
    const transports = [
      createGrpcTransport({ baseUrl }),
      createConnectTransport({ baseUrl, httpVersion: "1.1" }),
      createConnectTransport({ baseUrl, httpVersion: "2" }),
      createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
    ];
    for (const transport of transports) {
      const response = await createClient(Health, transport).check({});
      expect(response.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    }
  });

  it("serves gRPC-Web over HTTP/2 too: only gRPC proper goes to @grpc/grpc-js, by content type", async () => {
    // "application/grpc-web" starts with "application/grpc": grpc-js would take it for gRPC.
    const response = await createClient(Health, createGrpcWebTransport({ baseUrl, httpVersion: "2" })).check({});
    expect(response.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it("answers a CORS preflight from a configured origin and not from others", async () => {
    const preflight = (origin: string) =>
      fetch(`${baseUrl}/grpc.health.v1.Health/Check`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type,connect-protocol-version,authorization",
        },
      });
    const allowed = await preflight(allowedOrigin);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(allowedOrigin);
    expect(allowed.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const refused = await preflight("http://evil.example.test");
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("serves plain HTTP routes by method and path, 405 for another method, and a helpful 404 for anything else", async () => {
    expect(await (await fetch(`${baseUrl}/hello`)).text()).toBe("hi");
    const wrongMethod = await fetch(`${baseUrl}/hello`, { method: "PUT" });
    expect([wrongMethod.status, wrongMethod.headers.get("allow")]).toEqual([405, "GET"]);
    const missing = await fetch(`${baseUrl}/nope`);
    expect(missing.status).toBe(404);
  });

  it("refuses a request body over the size limit with RESOURCE_EXHAUSTED, not INTERNAL", async () => {
    const client = createClient(Health, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
    const error = await client.check({ service: "x".repeat(4096) }).catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.ResourceExhausted);
  });
});

describe("one-port server, malformed requests", () => {
  let server: OnePortServer;
  let baseUrl: string;
  beforeAll(async () => {
    server = await startServer();
    baseUrl = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.close(1_000);
  });
  const health = () => createClient(Health, createConnectTransport({ baseUrl, httpVersion: "1.1" })).check({});

  it("answers a Host that is no valid authority with 400, and goes on serving", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(server.port, "127.0.0.1", () =>
        socket.write(
          "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: a b\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        ),
      );
      let received = "";
      socket.on("data", (chunk) => (received += chunk.toString("latin1")));
      socket.on("end", () => resolve(received));
      socket.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    await expect(health()).resolves.toMatchObject({ status: HealthCheckResponse_ServingStatus.SERVING });
  });

  it("refuses gRPC metadata that is not printable ASCII with INVALID_ARGUMENT, rather than dropping the header", async () => {
    const session = http2.connect(baseUrl);
    try {
      const status = await new Promise<string | undefined>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/grpc.health.v1.Health/Check",
          "content-type": "application/grpc",
          te: "trailers",
          "x-forwarded-for": "spoof\u00e9, 203.0.113.7",
        });
        stream.on("response", (headers) => resolve(headers["grpc-status"] as string | undefined));
        stream.on("error", reject);
        stream.end(Buffer.alloc(5));
      });
      expect(status).toBe(String(Code.InvalidArgument));
    } finally {
      session.close();
    }
  });

  it("serves gRPC with JSON bodies (application/grpc+json) through connect-node, not grpc-js", async () => {
    const client = createClient(Health, createGrpcTransport({ baseUrl, useBinaryFormat: false }));
    await expect(client.check({})).resolves.toMatchObject({ status: HealthCheckResponse_ServingStatus.SERVING });
  });
});

describe("graceful close", () => {
  it("lets calls in flight finish, then stops accepting connections", async () => {
    const server = await startServer(1_000);
    callsInHandler = 0;
    const baseUrl = `http://127.0.0.1:${server.port}`;
    const overHttp2 = createClient(Health, createGrpcTransport({ baseUrl })).check({});
    const overHttp1 = createClient(Health, createConnectTransport({ baseUrl, httpVersion: "1.1" })).check({});
    await waitFor(() => callsInHandler === 2); // both calls are now inside the handler
    const closed = server.close(5_000);
    const [first, second] = await Promise.all([overHttp2, overHttp1]);
    expect(first.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(second.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    await closed;
    // A raw TCP connect: an HTTP agent could hand back a pooled keep-alive socket instead.
    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect(server.port, "127.0.0.1");
      socket.on("connect", () => resolve("accepted"));
      socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    });
    expect(refused).toBe("ECONNREFUSED");
  });
});
