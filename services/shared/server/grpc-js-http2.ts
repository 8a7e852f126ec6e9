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
  const dispatch: StreamListener = (stream, headers, flags, rawHeaders) => {
    if (!isGrpc(headers)) return compatStream(stream, headers, flags, rawHeaders);
    const unprintable = unprintableMetadata(headers);
    if (unprintable) return refuseGrpcStream(stream, `the ${unprintable} header is not printable ASCII`);
    grpcStream(stream, headers, flags, rawHeaders);
  };
  server.on("stream", dispatch);
  return { server, injector };
}

/**
 * gRPC with protobuf bodies: "application/grpc" or "application/grpc+proto", parameters allowed; not
 * gRPC-Web ("application/grpc-web...") and not gRPC with JSON bodies ("application/grpc+json"), which
 * grpc-js would decode as protobuf: connect-node serves those.
 */
function isGrpc(headers: http2.IncomingHttpHeaders): boolean {
  const type = headers["content-type"];
  if (headers[":method"] !== "POST" || type === undefined) return false;
  const end = type.indexOf(";");
  const mediaType = end === -1 ? type : type.slice(0, end).trimEnd();
  return mediaType === "application/grpc" || mediaType === "application/grpc+proto";
}

/**
 * The first header whose value is not printable ASCII, which gRPC metadata values must be (binary
 * ones end in "-bin"). grpc-js drops such a header silently: an X-Forwarded-For with one byte over
 * 0x7F, to which a trusted proxy appended the real client, would vanish and leave the proxy's address
 * as the client's. Refused instead, as the malformed request it is.
 */
function unprintableMetadata(headers: http2.IncomingHttpHeaders): string | undefined {
  for (const name in headers) {
    if (name.startsWith(":") || name.endsWith("-bin")) continue;
    const value = headers[name];
    const values = Array.isArray(value) ? value : [value];
    for (const text of values) if (text !== undefined && /[^\x20-\x7e]/.test(text)) return name;
  }
  return undefined;
}

/** Ends a gRPC stream at once with INVALID_ARGUMENT (a trailers-only response). */
function refuseGrpcStream(stream: http2.ServerHttp2Stream, message: string): void {
  stream.respond(
    {
      ":status": 200,
      "content-type": "application/grpc",
      "grpc-status": "3",
      "grpc-message": encodeURIComponent(message),
    },
    { endStream: true },
  );
}
