// Serves a service's Connect routes with @grpc/grpc-js: the very same handlers and interceptor chain
// (rpc-handler.ts) as connect-node, for gRPC callers. Why: connect-node runs a unary gRPC call through
// its streaming pipeline, allocates about 100 KB per call and builds DOMExceptions for AbortSignals
// it aborts on every call; grpc-js serves the same call for a fraction of the CPU
// (docs/performance.md, "gRPC on the main port"). The main port hands its gRPC streams to a server
// built here (one-port-server.ts), and so does the optional second listener (grpc-js-listener.ts).
// Every kind of method is served: unary, server streaming (health Watch), client streaming and
// bidirectional (reflection).
import {
  create,
  fromBinary,
  isMessage,
  type Message,
  type DescMessage,
  type DescMethodUnary,
  type DescService,
} from "@bufbuild/protobuf";
import {
  ConnectError,
  createContextKey,
  createMethodImplSpec,
  createServiceImplSpec,
  type ConnectRouter,
  type ContextValues,
  type HandlerContext,
  type MethodImplSpec,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import * as grpc from "@grpc/grpc-js";
import { handlerContextOf, Undecodable, undecodableError, type GrpcJsServerOptions } from "./grpc-js-call-context.js";
import { toMetadata, toServiceError } from "./grpc-js-status.js";
import { encodeMessage } from "./reusable-messages.js";
import { bidiStreamingHandler, clientStreamingHandler, serverStreamingHandler } from "./grpc-js-streaming.js";

export type { GrpcJsServerOptions } from "./grpc-js-call-context.js";

type AnyUnary = (request: UnaryRequest) => Promise<UnaryResponse>;

/** The handler context of a unary call, for the innermost function of the method's interceptor chain. */
const handlerContextKey = createContextKey<HandlerContext | undefined>(undefined, {
  description: "the grpc-js call's handler context",
});
type UnaryImpl = (request: unknown, context: HandlerContext) => unknown;

/** A grpc-js server (not yet bound or injected into) with every method of the routes. */
export function createGrpcJsServer(options: GrpcJsServerOptions): grpc.Server {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxRequestBytes,
    // Nothing here reads channelz; off, grpc-js skips its per-call and per-message bookkeeping.
    "grpc.enable_channelz": 0,
    // grpc-js lifts node:http2's per-connection memory cap (10 MB) unless told; keep Node's default.
    "grpc-node.max_session_memory": 10,
    ...(options.maxConcurrentStreams === undefined
      ? {}
      : { "grpc.max_concurrent_streams": options.maxConcurrentStreams }),
  });
  for (const [service, specs] of methodsByService(options.routes)) {
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const spec of specs) {
      const method = spec.method;
      definition[method.localName] = {
        path: `/${service.typeName}/${method.name}`,
        requestStream: spec.kind === "client_streaming" || spec.kind === "bidi_streaming",
        responseStream: spec.kind === "server_streaming" || spec.kind === "bidi_streaming",
        originalName: method.name,
        requestSerialize: serializer(method.input),
        requestDeserialize: deserializer(method.input),
        responseSerialize: serializer(method.output),
        responseDeserialize: deserializer(method.output),
      };
      implementation[method.localName] = handlerFor(spec, options);
    }
    server.addService(definition as grpc.ServiceDefinition, implementation);
  }
  return server;
}

function handlerFor(spec: MethodImplSpec, options: GrpcJsServerOptions): grpc.UntypedHandleCall {
  switch (spec.kind) {
    case "unary":
      return unaryHandler(spec.method, spec.impl as UnaryImpl, options);
    case "server_streaming":
      return serverStreamingHandler(spec, options);
    case "client_streaming":
      return clientStreamingHandler(spec, options);
    case "bidi_streaming":
      return bidiStreamingHandler(spec, options);
  }
}

/**
 * Runs the routes against a router that only records the implementations, by service. Its
 * `handlers` list the services too, as reflection reads them (reflection.ts).
 */
function methodsByService(routes: (router: ConnectRouter) => void): Map<DescService, MethodImplSpec[]> {
  const byService = new Map<DescService, MethodImplSpec[]>();
  const handlers: UniversalHandler[] = [];
  const record = (service: DescService, spec: MethodImplSpec) => {
    const list = byService.get(service) ?? [];
    list.push(spec);
    byService.set(service, list);
    handlers.push({ service, method: spec.method } as UniversalHandler);
  };
  const router: ConnectRouter = {
    handlers,
    service(service, implementation) {
      for (const spec of Object.values(createServiceImplSpec(service, implementation).methods)) record(service, spec);
      return router;
    },
    rpc(method, implementation) {
      record(method.parent, createMethodImplSpec(method, implementation));
      return router;
    },
  };
  routes(router);
  return byService;
}

/**
 * The unary request the interceptors see. A class rather than a literal: its `signal` getter is then
 * on the prototype, not a closure made per call, and the signal is made only if something reads it
 * (grpc-js-call-context.ts).
 */
class GrpcJsUnaryRequest implements UnaryRequest {
  readonly stream = false;
  readonly requestMethod = "POST";
  readonly service: DescService;
  readonly method: DescMethodUnary;
  readonly url: string;
  readonly header: Headers;
  readonly contextValues: ContextValues;

  constructor(
    private readonly context: HandlerContext,
    readonly message: never,
  ) {
    this.service = context.service;
    this.method = context.method as DescMethodUnary;
    this.url = context.url;
    this.header = context.requestHeader;
    this.contextValues = context.values;
  }

  get signal(): AbortSignal {
    return this.context.signal;
  }
}

function serializer(schema: DescMessage) {
  return (message: unknown) => encodeMessage(schema, message as Message);
}

function deserializer(schema: DescMessage) {
  return (bytes: Buffer): unknown => {
    try {
      return fromBinary(schema, bytes);
    } catch (error) {
      return new Undecodable(error instanceof Error ? error.message : String(error));
    }
  };
}

// Unary calls are most of the traffic: their path is written out here rather than through Connect's
// generic stream transform (grpc-js-streaming.ts), which costs an async generator per call.
function unaryHandler(
  method: DescMethodUnary,
  impl: UnaryImpl,
  options: GrpcJsServerOptions,
): grpc.handleUnaryCall<unknown, unknown> {
  const inner: AnyUnary = async (request) => {
    const context = request.contextValues.get(handlerContextKey) as HandlerContext;
    const init = await impl(request.message, context);
    // Handlers return init objects; connect-node completes them with create(), and so must we.
    const message = isMessage(init, method.output) ? init : create(method.output, init as never);
    return {
      stream: false,
      service: method.parent,
      method,
      header: context.responseHeader,
      trailer: context.responseTrailer,
      message,
    };
  };
  // The first interceptor is the outermost, as in connect-node. Chained once per method rather than
  // per call (as connect-node does it): the handler finds its call's context in the context values.
  const next = options.interceptors.reduceRight<AnyUnary>(
    (wrapped, interceptor) => interceptor(wrapped as never) as AnyUnary,
    inner,
  );
  return (call, callback) => {
    if (call.request instanceof Undecodable) {
      callback(toServiceError(undecodableError(method, call.request)));
      return;
    }
    const { context, answered } = handlerContextOf(method, call, options);
    context.values.set(handlerContextKey, context);
    next(new GrpcJsUnaryRequest(context, call.request as never)).then(
      (response) => {
        answered();
        const header = toMetadata(response.header);
        if (header) call.sendMetadata(header);
        callback(null, response.message, toMetadata(response.trailer));
      },
      (error: unknown) => {
        answered();
        callback(toServiceError(ConnectError.from(error)));
      },
    );
  };
}
