// What every grpc-js call served from Connect routes shares (grpc-js-adapter.ts, grpc-js-streaming.ts):
// the options, the Connect handler context made from the call, and undecodable request bodies.
import type { DescMethod } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  type ConnectRouter,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";
import type { TrustedProxies } from "../trusted-proxies.js";
import { MetadataHeaders } from "./grpc-js-status.js";
import { requestInfoFrom, requestInfoKey } from "./request-info.js";

export interface GrpcJsServerOptions {
  routes: (router: ConnectRouter) => void;
  /** The same chain as the Connect handler's, outermost first (rpcInterceptors()). */
  interceptors: Interceptor[];
  maxRequestBytes: number;
  /** HTTP/2 streams one connection may have open at once; undefined: no limit. */
  maxConcurrentStreams?: number | undefined;
  trustedProxies: TrustedProxies;
}

/** What a handler needs of a grpc-js call, whatever its kind. */
export type AnyGrpcCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown>;

/** What the deserializer hands on for a body that does not decode: answered INVALID_ARGUMENT, as by connect-node. */
export class Undecodable {
  constructor(readonly reason: string) {}
}

export function undecodableError(method: DescMethod, undecodable: Undecodable): ConnectError {
  return new ConnectError(
    `the request body is not a valid ${method.input.typeName} (${undecodable.reason})`,
    Code.InvalidArgument,
  );
}

export interface GrpcJsCallContext {
  context: HandlerContext;
  /**
   * To call before the call's status is sent: grpc-js emits "cancelled" when the stream closes, after
   * every call, cancelled or not, and aborting the context's signal then would cost a ConnectError
   * and an abort event per call for nothing.
   */
  answered(): void;
}

/** The Connect handler context of a grpc-js call: headers, the caller's address, deadline, cancellation. */
export function handlerContextOf(
  method: DescMethod,
  call: AnyGrpcCall,
  options: GrpcJsServerOptions,
): GrpcJsCallContext {
  const requestHeader = new MetadataHeaders(call.metadata);
  const values = createContextValues().set(
    requestInfoKey,
    requestInfoFrom(call.getPeer(), (name) => requestHeader.get(name) ?? undefined, options.trustedProxies),
  );
  // Made as createHandlerContext() makes it, except the signal: an AbortSignal (and Connect's linked
  // and deadline signals) costs about a tenth of an empty call, and only streaming handlers read it.
  // grpc-js enforces the deadline itself and reports it, like a client's cancel, as "cancelled".
  let controller: AbortController | undefined;
  let cancelled = false;
  const cancelReason = () => new ConnectError("the client cancelled the call", Code.Canceled);
  const context: HandlerContext = {
    service: method.parent,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: `/${method.parent.typeName}/${method.name}`,
    requestHeader,
    responseHeader: new Headers(),
    responseTrailer: new Headers(),
    values,
    timeoutMs: () => {
      const deadline = call.getDeadline();
      const at = deadline instanceof Date ? deadline.getTime() : deadline;
      return Number.isFinite(at) ? at - Date.now() : undefined;
    },
    get signal() {
      if (controller === undefined) {
        controller = new AbortController();
        if (cancelled) controller.abort(cancelReason());
      }
      return controller.signal;
    },
  };
  const onCancelled = () => {
    cancelled = true;
    controller?.abort(cancelReason());
  };
  call.once("cancelled", onCancelled);
  return { context, answered: () => call.off("cancelled", onCancelled) };
}
