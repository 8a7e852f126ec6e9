import type http from "node:http";
import type net from "node:net";
import type { ConnectionLimits, CutReason } from "./connection-limits.js";

/**
 * Node's own headersTimeout and requestTimeout are enforced by a sweep that starts with listen();
 * the one-port front hands sockets to our http.Server with emit("connection") and it never listens,
 * so those two bounds are kept here: a timer per connection for the headers, one per request for
 * its body.
 */
export interface Http1Deadlines {
  /** Starts the headers bound on a socket just handed to the http server. */
  watch(socket: net.Socket): void;
}

interface Http1Connection {
  headers: NodeJS.Timeout | undefined;
  /** Requests whose response has not closed yet (more than one when the client pipelines). */
  inProgress: number;
}

/** Sent before closing a connection whose request is late, when no response has started on it. */
const requestTimeoutResponse = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

export function guardHttp1(
  server: http.Server,
  limits: ConnectionLimits,
  onCut: (reason: CutReason) => void,
): Http1Deadlines {
  const connections = new WeakMap<net.Socket, Http1Connection>();

  const cut = (socket: net.Socket, reason: CutReason, answer: boolean) => {
    if (socket.destroyed) return;
    onCut(reason);
    if (answer && socket.writable) socket.write(requestTimeoutResponse);
    socket.destroy();
  };
  const awaitHeaders = (socket: net.Socket, connection: Http1Connection, ms: number) => {
    clearTimeout(connection.headers);
    connection.headers = setTimeout(() => cut(socket, "headers_timeout", true), ms);
  };

  server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    const socket = request.socket;
    const connection = connections.get(socket);
    if (!connection) return;
    clearTimeout(connection.headers);
    connection.inProgress++;
    // Runs until the body has arrived even when the answer went first (Node then reads the rest
    // of the body off the connection before the next request can start).
    const body = setTimeout(
      () => cut(socket, "request_body_timeout", !response.headersSent),
      limits.requestBodyTimeoutMs,
    );
    request.once("end", () => clearTimeout(body));
    request.once("close", () => clearTimeout(body));
    response.once("close", () => {
      connection.inProgress--;
      // Kept alive: the next request may come after the idle allowance, and its headers are then due.
      if (connection.inProgress === 0 && !socket.destroyed) {
        awaitHeaders(socket, connection, server.keepAliveTimeout + limits.headersTimeoutMs);
      }
    });
  });

  return {
    watch(socket) {
      const connection: Http1Connection = { headers: undefined, inProgress: 0 };
      connections.set(socket, connection);
      awaitHeaders(socket, connection, limits.headersTimeoutMs);
      socket.once("close", () => clearTimeout(connection.headers));
    },
  };
}
