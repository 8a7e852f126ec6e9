import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "../logging.js";

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
 */
export function listenOnePort(options: {
  host: string;
  port: number;
  handler: RequestHandler;
  logger: Logger;
}): Promise<OnePortServer> {
  const { handler, logger } = options;
  const h1 = http.createServer(handler);
  h1.keepAliveTimeout = 65_000;
  const h2 = http2.createServer({}, handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  let inFlight = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;

  h2.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    if (draining) session.close();
  });
  for (const server of [h1, h2] as const) {
    server.on("request", (_request: unknown, response: http.ServerResponse | http2.Http2ServerResponse) => {
      inFlight++;
      response.on("close", () => {
        inFlight--;
        if (inFlight === 0) onIdle?.();
      });
    });
  }
  h1.on("request", (_request, response: http.ServerResponse) => {
    if (draining) response.setHeader("Connection", "close");
  });

  const front = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", (error) => logger.debug({ err: error }, "client socket error"));
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
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", sniff);
  });

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
          await stopped;
        },
      });
    });
  });
}
