// Streaming methods (health Watch, reflection) served by @grpc/grpc-js from Connect implementations,
// through Connect's own stream transform: the same interceptor chain runs around them as on
// connect-node, the handler's signal aborts when the client cancels or its deadline passes, and an
// error ends the call with its gRPC status and details.
import type { DescMethod } from "@bufbuild/protobuf";
import { ConnectError, type HandlerContext, type MethodImplSpec } from "@connectrpc/connect";
import { createAsyncIterable, transformInvokeImplementation } from "@connectrpc/connect/protocol";
import type * as grpc from "@grpc/grpc-js";
import { handlerContextOf, Undecodable, undecodableError, type GrpcJsServerOptions } from "./grpc-js-call-context.js";
import { toMetadata, toServiceError } from "./grpc-js-status.js";

type Spec<Kind extends MethodImplSpec["kind"]> = MethodImplSpec & { kind: Kind };
type Writable = grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

export function serverStreamingHandler(
  spec: Spec<"server_streaming">,
  options: GrpcJsServerOptions,
): grpc.handleServerStreamingCall<unknown, unknown> {
  return (call) => {
    if (call.request instanceof Undecodable) {
      call.emit("error", toServiceError(undecodableError(spec.method, call.request)));
      return;
    }
    const { context, answered } = handlerContextOf(spec.method, call, options);
    void writeAll(call, context, answered, run(spec, context, options, createAsyncIterable([call.request])));
  };
}

export function bidiStreamingHandler(
  spec: Spec<"bidi_streaming">,
  options: GrpcJsServerOptions,
): grpc.handleBidiStreamingCall<unknown, unknown> {
  return (call) => {
    const { context, answered } = handlerContextOf(spec.method, call, options);
    void writeAll(call, context, answered, run(spec, context, options, requestsOf(call, spec.method)));
  };
}

export function clientStreamingHandler(
  spec: Spec<"client_streaming">,
  options: GrpcJsServerOptions,
): grpc.handleClientStreamingCall<unknown, unknown> {
  return (call, callback) => {
    const { context, answered } = handlerContextOf(spec.method, call, options);
    void (async () => {
      try {
        let response: unknown;
        for await (const message of run(spec, context, options, requestsOf(call, spec.method))) response = message;
        answered();
        sendHeader(call, context);
        callback(null, response, toMetadata(context.responseTrailer));
      } catch (error) {
        answered();
        callback(toServiceError(ConnectError.from(error)));
      }
    })();
  };
}

function run(
  spec: MethodImplSpec,
  context: HandlerContext,
  options: GrpcJsServerOptions,
  requests: AsyncIterable<unknown>,
): AsyncIterable<unknown> {
  return transformInvokeImplementation(spec, context, options.interceptors)(requests as AsyncIterable<never>);
}

/** The client's messages; one that does not decode ends the call with INVALID_ARGUMENT, as on connect-node. */
async function* requestsOf(call: AsyncIterable<unknown>, method: DescMethod): AsyncGenerator<unknown> {
  for await (const message of call) {
    if (message instanceof Undecodable) throw undecodableError(method, message);
    yield message;
  }
}

/** Connect fills context.responseHeader before the first message (or the end): it goes out then, once. */
function sendHeader(call: Pick<Writable, "sendMetadata">, context: HandlerContext): void {
  const header = toMetadata(context.responseHeader);
  if (header) call.sendMetadata(header);
}

/** Writes every message with backpressure, then the trailers; or the error's status. */
async function writeAll(
  call: Writable,
  context: HandlerContext,
  answered: () => void,
  messages: AsyncIterable<unknown>,
): Promise<void> {
  let headerSent = false;
  try {
    for await (const message of messages) {
      if (context.signal.aborted) break;
      if (!headerSent) sendHeader(call, context);
      headerSent = true;
      if (!call.write(message)) await drainedOrAborted(call, context.signal);
    }
    if (context.signal.aborted) return; // grpc-js has already ended a cancelled call
    answered();
    if (!headerSent) sendHeader(call, context);
    call.end(toMetadata(context.responseTrailer));
  } catch (error) {
    if (context.signal.aborted) return;
    answered();
    call.emit("error", toServiceError(ConnectError.from(error)));
  }
}

function drainedOrAborted(call: Writable, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    call.once("drain", done);
    signal.addEventListener("abort", done);
  });
}
