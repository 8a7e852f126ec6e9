import http from "node:http";
import type http2 from "node:http2";
import net from "node:net";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "../logging.js";
import type { ConnectionLimits, ConnectionMetrics, CutReason, Protocol } from "./connection-limits.js";
import { injectableHttp2 } from "./grpc-js-http2.js";
import { guardHttp1 } from "./http1-deadlines.js";
import { guardHttp2Streams } from "./http2-deadlines.js";

/** A Node request handler that works on both http and http2 servers (connect-node's handler type). */
export type RequestHandler = ReturnType<typeof connectNodeAdapter>;
export type NodeServerRequest = Parameters<RequestHandler>[0];
export type NodeServerResponse = Parameters<RequestHandler>[1];

export interface OnePortServer {
  port: number;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes what is left. */
  close(graceMs: number): Promise<void>;
}

const http2Preface = Buffer.from("PRI * HTTP/2.0");

/**
 * Serves gRPC (HTTP/2 cleartext, prior knowledge) and browsers (HTTP/1.1) on one port. Node ignores
 * `allowHTTP1` on a plaintext HTTP/2 server (it works only with TLS and ALPN; HTTP/1.1 clients get
 * "Parse Error: Expected HTTP/"), so we look at the first bytes of each connection for the HTTP/2
 * preface (RFC 9113, section 3.4) and hand the socket to an http2 or an http server accordingly.
 * HTTP/2 connections go to @grpc/grpc-js, which serves gRPC calls with the same routes and
 * interceptors (grpc-js-adapter.ts) and hands every other stream to `handler` (grpc-js-http2.ts);
 * HTTP/1.1 connections go to `handler` alone. Because neither server listens, their own timeouts
 * do not run: the bounds on slow clients (connection-limits.ts) are kept here and in
 * http1-deadlines.ts / http2-deadlines.ts, for gRPC streams as for the others.
 */
export function listenOnePort(options: {
  host: string;
  port: number;
  handler: RequestHandler;
  /** Serves the gRPC calls of HTTP/2 connections (createGrpcJsServer()); shut down by close(). */
  grpcServer: grpc.Server;
  logger: Logger;
  limits: ConnectionLimits;
  metrics: ConnectionMetrics;
}): Promise<OnePortServer> {
  const { handler, logger, limits, metrics } = options;
  const h1 = http.createServer(handler);
  h1.keepAliveTimeout = 65_000;
  // SETTINGS_MAX_CONCURRENT_STREAMS comes from the grpc-js server's "grpc.max_concurrent_streams".
  const { server: h2, injector } = injectableHttp2(options.grpcServer, handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  let inFlight = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;
  let newestSession: http2.ServerHttp2Session | undefined;

  const cutConnection = (reason: CutReason) => metrics.connectionsCut.inc({ reason });
  const http1 = guardHttp1(h1, limits, cutConnection);
  guardHttp2Streams(h2, limits, () => metrics.streamsCut.inc({ reason: "request_body_timeout" }));

  h2.on("session", (session) => {
    newestSession = session;
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    if (draining) session.close();
  });
  const settled = () => {
    inFlight--;
    if (inFlight === 0) onIdle?.();
  };
  // Every HTTP/2 stream is a call, gRPC (grpc-js) or not (connect-node): counted by stream.
  h2.on("stream", (stream: http2.ServerHttp2Stream) => {
    inFlight++;
    stream.once("close", settled);
  });
  h1.on("request", (_request, response: http.ServerResponse) => {
    inFlight++;
    response.once("close", settled);
    if (draining) response.setHeader("Connection", "close");
  });

  const front = net.createServer((socket) => {
    let protocol: Protocol = "pending";
    metrics.connectionsAccepted.inc();
    metrics.connectionsOpen.inc({ protocol });
    sockets.add(socket);
    const firstBytes = setTimeout(() => {
      cutConnection("first_bytes_timeout");
      socket.destroy();
    }, limits.firstBytesTimeoutMs);
    socket.on("close", () => {
      clearTimeout(firstBytes);
      sockets.delete(socket);
      metrics.connectionsOpen.dec({ protocol });
    });
    socket.on("error", (error) => logger.debug({ err: error }, "client socket error"));
    const becomes = (next: Protocol) => {
      metrics.connectionsOpen.dec({ protocol });
      protocol = next;
      metrics.connectionsOpen.inc({ protocol });
    };
    let head = Buffer.alloc(0);
    const sniff = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const compared = Math.min(head.length, http2Preface.length);
      const isHttp2 = head.subarray(0, compared).equals(http2Preface.subarray(0, compared));
      if (isHttp2 && head.length < http2Preface.length) return; // need more bytes to decide
      socket.removeListener("data", sniff);
      socket.pause();
      socket.unshift(head);
      if (isHttp2) {
        becomes("http2");
        // Creates the session synchronously ("session" above). The socket stays paused: the session
        // reads it from its own handle, and resuming it first would lose the preface to nobody.
        injector.injectConnection(socket);
        // The first-bytes bound lasts until the client's SETTINGS, the end of its preface (RFC 9113 section 3.4).
        newestSession?.once("remoteSettings", () => clearTimeout(firstBytes));
      } else {
        clearTimeout(firstBytes);
        becomes("http1");
        http1.watch(socket);
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", sniff);
  });
  // Over the cap, Node closes the accepted connection at once, before any JavaScript object is made for it.
  front.maxConnections = limits.maxConnections;
  front.on("drop", () => cutConnection("over_capacity"));

  return new Promise((resolve, reject) => {
    front.once("error", reject);
    front.listen(options.port, options.host, () => {
      front.off("error", reject);
      const address = front.address() as net.AddressInfo;
      resolve({
        port: address.port,
        async close(graceMs) {
          draining = true;
          const stopped = new Promise<void>((done) => front.close(() => done()));
          for (const session of sessions) session.close();
          h1.closeIdleConnections();
          const idle = new Promise<void>((done) => {
            if (inFlight === 0) return done();
            onIdle = done;
          });
          let timer: NodeJS.Timeout | undefined;
          const timedOut = new Promise<void>((done) => {
            timer = setTimeout(() => {
              if (inFlight > 0) logger.warn({ inFlight }, "shutdown grace period over; closing open calls");
              done();
            }, graceMs);
          });
          await Promise.race([idle, timedOut]);
          clearTimeout(timer);
          for (const session of sessions) session.destroy();
          for (const socket of sockets) socket.destroy();
          options.grpcServer.forceShutdown(); // nothing is left on it; this releases its bookkeeping
          await stopped;
        },
      });
    });
  });
}
