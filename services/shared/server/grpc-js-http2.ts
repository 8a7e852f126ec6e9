import type http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";

export type ConnectionInjector = ReturnType<grpc.Server["createConnectionInjector"]>;

type StreamListener = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) => void;

/**
 * The HTTP/2 side of the main port: sessions run by @grpc/grpc-js (Server.createConnectionInjector),
 * whose gRPC streams its own handlers serve, while every other stream (Connect and gRPC-Web over
 * HTTP/2, CORS preflights, plain HTTP routes) goes to connect-node's request handler, as before.
 *
 * grpc-js answers any stream it does not recognise as gRPC with HTTP 415, and gRPC-Web
 * ("application/grpc-web...") it would take for gRPC and answer in the wrong framing; so each stream
 * is routed by its content-type before either sees it. That needs the http2 server grpc-js makes for
 * the injector, which it keeps in a private map (`http2Servers`, grpc-js 1.14): found by what the
 * injector added to it, and checked, so that a grpc-js that keeps it elsewhere fails at startup
 * rather than serving Connect clients 415s.
 */
export function injectableHttp2(
  grpcServer: grpc.Server,
  handler: (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => void,
): { server: http2.Http2Server; injector: ConnectionInjector } {
  const servers = (grpcServer as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) throw new Error("@grpc/grpc-js keeps its http2 servers elsewhere than this version");
  const before = new Set(servers.keys());
  const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const added = [...servers.keys()].filter((server) => !before.has(server)) as http2.Http2Server[];
  const server = added[0];
  if (added.length !== 1 || server === undefined)
    throw new Error("@grpc/grpc-js made no http2 server for the injector");
  const grpcListeners = server.listeners("stream") as StreamListener[];
  // Adding a "request" listener makes node:http2 add its compatibility layer's "stream" listener.
  server.on("request", handler);
  const compatListeners = (server.listeners("stream") as StreamListener[]).filter((l) => !grpcListeners.includes(l));
  const [grpcStream] = grpcListeners;
  const [compatStream] = compatListeners;
  if (grpcListeners.length !== 1 || compatListeners.length !== 1 || !grpcStream || !compatStream) {
    throw new Error("unexpected stream listeners on the @grpc/grpc-js http2 server");
  }
  server.removeAllListeners("stream");
  const dispatch: StreamListener = (stream, headers, flags, rawHeaders) =>
    (isGrpc(headers) ? grpcStream : compatStream)(stream, headers, flags, rawHeaders);
  server.on("stream", dispatch);
  return { server, injector };
}

/** gRPC proper: "application/grpc", "application/grpc+proto", ...; not gRPC-Web ("application/grpc-web"). */
function isGrpc(headers: http2.IncomingHttpHeaders): boolean {
  const type = headers["content-type"];
  if (headers[":method"] !== "POST" || type === undefined || !type.startsWith("application/grpc")) return false;
  const next = type.charCodeAt("application/grpc".length);
  return Number.isNaN(next) || next === 43 /* + */ || next === 59 /* ; */;
}
