import http2 from "node:http2";
import type { ConnectionLimits } from "./connection-limits.js";

/**
 * Every HTTP/2 stream's request half (the client's messages up to END_STREAM) must end within
 * requestBodyTimeoutMs of its headers; a stream that is late is reset with CANCEL, and only that
 * stream: other calls on the connection go on. The response half is not bounded, so a
 * server-streaming call (grpc.health.v1.Health/Watch) may stream for as long as the client stays;
 * a bidirectional one (gRPC reflection) must finish sending within the bound.
 */
export function guardHttp2Streams(server: http2.Http2Server, limits: ConnectionLimits, onCut: () => void): void {
  server.on("stream", (stream: http2.ServerHttp2Stream) => {
    const deadline = setTimeout(() => {
      if (stream.destroyed) return;
      onCut();
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }, limits.requestBodyTimeoutMs);
    const done = () => clearTimeout(deadline);
    stream.once("end", done);
    stream.once("close", done);
  });
}
