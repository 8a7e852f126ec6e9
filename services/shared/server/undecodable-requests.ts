import type { ConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";

// connect-es answers a binary request body that does not decode as the method's input (invalid UTF-8
// in a string field, truncation, a wrong wire type, nesting past the recursion limit) with INTERNAL
// "parse binary: ...", and it does so before any interceptor runs, so the error interceptor never
// sees it. Such a body is the client's mistake, so INVALID_ARGUMENT (docs/errors.md), which is what
// connect-es already answers for undecodable JSON. connect-es has no hook for its parse step, so
// the answer is rewritten on its way out, for each of the three protocols.

const parseFailure = /^parse binary: /;
const grpcInternal = "13";
const grpcInvalidArgument = "3";

/** Wraps every handler registered on the router so far. Call after all services are registered. */
export function answerUndecodableRequestsAsInvalid(router: ConnectRouter): void {
  const handlers = router.handlers;
  for (const [index, handler] of handlers.entries()) handlers[index] = wrap(handler);
}

function wrap(handler: UniversalHandler): UniversalHandler {
  const what = `the request body is not a valid ${handler.method.input.typeName}`;
  const wrapped = async (request: Parameters<UniversalHandler>[0]) => rewrite(await handler(request), what);
  return Object.assign(wrapped, {
    protocolNames: handler.protocolNames,
    service: handler.service,
    method: handler.method,
    requestPath: handler.requestPath,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
  });
}

function rewrite(
  response: UniversalServerResponse,
  what: string,
): UniversalServerResponse | Promise<UniversalServerResponse> {
  const contentType = response.header?.get("content-type") ?? "";
  if (contentType.startsWith("application/grpc-web")) return rewriteGrpcWeb(response, what);
  if (contentType.startsWith("application/grpc")) return rewriteGrpc(response, what);
  if (response.status === 500 && contentType.startsWith("application/json")) return rewriteConnectUnary(response, what);
  return response;
}

/** Connect unary: an HTTP 500 with a JSON error body. */
async function rewriteConnectUnary(response: UniversalServerResponse, what: string): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body ?? []) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  let error: { code?: unknown; message?: unknown } = {};
  try {
    error = JSON.parse(bytes.toString("utf8")) as typeof error;
  } catch {
    // Not a Connect error body: pass it on unchanged.
  }
  let body: Uint8Array = bytes;
  let status = response.status;
  if (error.code === "internal" && typeof error.message === "string" && parseFailure.test(error.message)) {
    body = Buffer.from(
      JSON.stringify({ code: "invalid_argument", message: `${what} (${error.message.replace(parseFailure, "")})` }),
    );
    status = 400;
    if (response.header?.has("content-length")) response.header.set("content-length", String(body.byteLength));
  }
  return {
    ...response,
    status,
    body: (async function* () {
      yield body;
    })(),
  };
}

/** gRPC: the status travels in HTTP/2 trailers, filled in while the body is produced. */
function rewriteGrpc(response: UniversalServerResponse, what: string): UniversalServerResponse {
  const trailer = response.trailer;
  if (!trailer || !response.body) return response;
  const fix = () => {
    const message = grpcMessage(trailer.get("grpc-message"));
    if (trailer.get("grpc-status") === grpcInternal && parseFailure.test(message)) {
      trailer.set("grpc-status", grpcInvalidArgument);
      trailer.set("grpc-message", encodeURIComponent(`${what} (${message.replace(parseFailure, "")})`));
    }
  };
  const body = response.body;
  fix();
  return {
    ...response,
    body: (async function* () {
      yield* body;
      fix();
    })(),
  };
}

/** gRPC-Web: the status travels in a trailer frame (flag 0x80) at the end of the body. */
function rewriteGrpcWeb(response: UniversalServerResponse, what: string): UniversalServerResponse {
  const body = response.body;
  if (!body) return response;
  return {
    ...response,
    body: (async function* () {
      for await (const chunk of body) yield rewriteTrailerFrames(chunk, what);
    })(),
  };
}

function rewriteTrailerFrames(chunk: Uint8Array, what: string): Uint8Array {
  const frames: Buffer[] = [];
  let changed = false;
  for (let offset = 0; offset < chunk.length; ) {
    if (offset + 5 > chunk.length) return chunk;
    // The frame header: one byte of flags, then the length as four bytes, big-endian.
    const header = Buffer.from(chunk.buffer, chunk.byteOffset + offset, 5);
    const flags = header.readUInt8(0);
    const length = header.readUInt32BE(1);
    const end = offset + 5 + length;
    if (end > chunk.length) return chunk; // a frame split across chunks: leave the chunk as it is
    const data = Buffer.from(chunk.subarray(offset + 5, end));
    // 0x80 trailer, 0x01 compressed: a compressed trailer is left alone (error trailers are tiny).
    if (flags === 0x80) {
      const text = data.toString("latin1");
      const status = /^grpc-status: *(\d+)\r?$/im.exec(text)?.[1];
      const message = grpcMessage(/^grpc-message: *(.*?)\r?$/im.exec(text)?.[1]);
      if (status === grpcInternal && parseFailure.test(message)) {
        const replaced = text
          .replace(/^grpc-status: *\d+/im, `grpc-status: ${grpcInvalidArgument}`)
          .replace(
            /^grpc-message: *.*?(\r?)$/im,
            (_, cr: string) =>
              `grpc-message: ${encodeURIComponent(`${what} (${message.replace(parseFailure, "")})`)}${cr}`,
          );
        const replacement = Buffer.from(replaced, "latin1");
        const header = Buffer.alloc(5);
        header[0] = flags;
        header.writeUInt32BE(replacement.length, 1);
        frames.push(header, replacement);
        changed = true;
        offset = end;
        continue;
      }
    }
    frames.push(Buffer.from(chunk.subarray(offset, end)));
    offset = end;
  }
  return changed ? new Uint8Array(Buffer.concat(frames)) : chunk;
}

function grpcMessage(encoded: string | null | undefined): string {
  if (!encoded) return "";
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}
