// What every grpc-js call served from Connect routes shares (grpc-js-adapter.ts, grpc-js-streaming.ts):
// the options, the Connect handler context made from the call, and undecodable request bodies.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextKey,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";
import type { TrustedProxies } from "../trusted-proxies.js";
import { MetadataHeaders } from "./grpc-js-status.js";
import { requestInfoFromGrpcJsPeer, requestInfoKey } from "./request-info.js";

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

/**
 * Connect's context values (createContextValues()) without the three closures it makes per call: the
 * same get/set/delete on the prototype, the values under their keys' symbols as before.
 */
class CallContextValues implements ContextValues {
  get<T>(key: ContextKey<T>): T {
    return key.id in this ? ((this as unknown as Record<symbol, T>)[key.id] as T) : key.defaultValue;
  }

  set<T>(key: ContextKey<T>, value: T): this {
    (this as unknown as Record<symbol, T>)[key.id] = value;
    return this;
  }

  delete(key: ContextKey<unknown>): this {
    delete (this as unknown as Record<symbol, unknown>)[key.id];
    return this;
  }
}

/** "/package.Service/Method", made once per method rather than once per call. */
const urls = new WeakMap<DescMethod, string>();

function urlOf(method: DescMethod): string {
  let url = urls.get(method);
  if (url === undefined) {
    url = `/${method.parent.typeName}/${method.name}`;
    urls.set(method, url);
  }
  return url;
}

const cancelledByClient = () => new ConnectError("the client cancelled the call", Code.Canceled);

/**
 * The Connect handler context of a grpc-js call, made as createHandlerContext() makes it, except the
 * signal: an AbortSignal (and Connect's linked and deadline signals) costs about a tenth of an empty
 * call, and only streaming handlers read it, so it is made when first read. grpc-js enforces the
 * deadline itself and reports it, like a client's cancel, as "cancelled". A class, so that a call
 * costs one object and one listener rather than an object literal with a closure per member.
 */
class GrpcJsHandlerContext implements HandlerContext {
  readonly protocolName = "grpc";
  readonly requestMethod = "POST";
  readonly service: DescService;
  readonly url: string;
  readonly responseHeader = new Headers();
  readonly responseTrailer = new Headers();
  readonly values: ContextValues = new CallContextValues();
  #controller: AbortController | undefined;
  #cancelled = false;

  constructor(
    readonly method: DescMethod,
    readonly requestHeader: Headers,
    private readonly call: AnyGrpcCall,
  ) {
    this.service = method.parent;
    this.url = urlOf(method);
  }

  timeoutMs(): number | undefined {
    const deadline = this.call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    return Number.isFinite(at) ? at - Date.now() : undefined;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#cancelled) this.#controller.abort(cancelledByClient());
    }
    return this.#controller.signal;
  }

  /** grpc-js's "cancelled": the client cancelled, its deadline passed, or the stream closed. */
  readonly onCancelled = (): void => {
    this.#cancelled = true;
    this.#controller?.abort(cancelledByClient());
  };
}

/** The Connect handler context of a grpc-js call: headers, the caller's address, deadline, cancellation. */
export function handlerContextOf(
  method: DescMethod,
  call: AnyGrpcCall,
  options: GrpcJsServerOptions,
): GrpcJsCallContext {
  const requestHeader = new MetadataHeaders(call.metadata);
  const context = new GrpcJsHandlerContext(method, requestHeader, call);
  context.values.set(
    requestInfoKey,
    requestInfoFromGrpcJsPeer(call.getPeer(), (name) => requestHeader.get(name) ?? undefined, options.trustedProxies),
  );
  // on/off rather than once: once() wraps the listener in a closure and a state object per call.
  call.on("cancelled", context.onCancelled);
  return { context, answered: () => call.off("cancelled", context.onCancelled) };
}
