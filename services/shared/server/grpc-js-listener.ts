// A second, optional listener for internal gRPC callers, served by @grpc/grpc-js with the very same
// routes, handlers and interceptor chain as the Connect listener (rpc-handler.ts). Why: connect-node
// runs a unary gRPC call through its streaming pipeline, allocates about 100 KB per call and builds
// DOMExceptions for AbortSignals it aborts on every call; grpc-js serves the same call for a
// fraction of the CPU (README "Performance"). What it does not do: Connect and
// gRPC-Web (browsers), CORS, plain HTTP routes, and streaming methods (health Watch, reflection):
// those stay on the main port.
import {
  create,
  fromBinary,
  isMessage,
  toBinary,
  type DescMessage,
  type DescMethodUnary,
  type DescService,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  createHandlerContext,
  createMethodImplSpec,
  createServiceImplSpec,
  type ConnectRouter,
  type Interceptor,
  type MethodImplSpec,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../logging.js";
import type { TrustedProxies } from "../trusted-proxies.js";
import { requestInfoFrom, requestInfoKey } from "./request-info.js";

export interface GrpcJsListenerOptions {
  host: string;
  port: number;
  logger: Logger;
  routes: (router: ConnectRouter) => void;
  /** The same chain as the Connect listener's, outermost first (rpcInterceptors()). */
  interceptors: Interceptor[];
  maxRequestBytes: number;
  /** HTTP/2 streams one connection may have open at once, as on the main port; undefined: no limit. */
  maxConcurrentStreams?: number | undefined;
  trustedProxies: TrustedProxies;
}

export interface GrpcJsListener {
  port: number;
  /** Stops accepting, lets in-flight calls finish for up to `graceMs`, then cancels what is left. */
  close(graceMs: number): Promise<void>;
}

type AnyUnary = (request: UnaryRequest) => Promise<UnaryResponse>;
type UnaryImpl = (request: unknown, context: ReturnType<typeof createHandlerContext>) => unknown;

/** What the deserializer hands on for a body that does not decode: answered INVALID_ARGUMENT, as on the Connect port. */
class Undecodable {
  constructor(readonly reason: string) {}
}

export async function listenGrpcJs(options: GrpcJsListenerOptions): Promise<GrpcJsListener> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxRequestBytes,
    ...(options.maxConcurrentStreams === undefined
      ? {}
      : { "grpc.max_concurrent_streams": options.maxConcurrentStreams }),
  });
  for (const [service, specs] of unaryMethods(options.routes)) {
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const spec of specs) {
      const method = spec.method;
      definition[method.localName] = {
        path: `/${service.typeName}/${method.name}`,
        requestStream: false,
        responseStream: false,
        originalName: method.name,
        requestSerialize: serializer(method.input),
        requestDeserialize: deserializer(method.input),
        responseSerialize: serializer(method.output),
        responseDeserialize: deserializer(method.output),
      };
      implementation[method.localName] = unaryHandler(method, spec.impl as UnaryImpl, options);
    }
    server.addService(definition as grpc.ServiceDefinition, implementation);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    port,
    async close(graceMs) {
      let timer: NodeJS.Timeout | undefined;
      const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
      if (await Promise.race([drained.then(() => false), timedOut])) {
        options.logger.warn("shutdown grace period over; cancelling open calls on the grpc-js listener");
        server.forceShutdown();
      }
      clearTimeout(timer);
    },
  };
}

/** Runs the routes against a router that only records the implementations; the unary ones, by service. */
function unaryMethods(
  routes: (router: ConnectRouter) => void,
): Map<DescService, Array<MethodImplSpec & { kind: "unary" }>> {
  const byService = new Map<DescService, Array<MethodImplSpec & { kind: "unary" }>>();
  const record = (service: DescService, spec: MethodImplSpec) => {
    if (spec.kind !== "unary") return;
    const list = byService.get(service) ?? [];
    list.push(spec);
    byService.set(service, list);
  };
  const router: ConnectRouter = {
    handlers: [],
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

function serializer(schema: DescMessage) {
  return (message: unknown) => Buffer.from(toBinary(schema, message as never));
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

function unaryHandler(
  method: DescMethodUnary,
  impl: UnaryImpl,
  options: GrpcJsListenerOptions,
): grpc.handleUnaryCall<unknown, unknown> {
  const path = `/${method.parent.typeName}/${method.name}`;
  return (call, callback) => {
    if (call.request instanceof Undecodable) {
      callback(
        toServiceError(
          new ConnectError(
            `the request body is not a valid ${method.input.typeName} (${call.request.reason})`,
            Code.InvalidArgument,
          ),
        ),
      );
      return;
    }
    const requestHeader = new Headers();
    for (const [key, value] of Object.entries(call.metadata.getMap())) {
      requestHeader.set(key, typeof value === "string" ? value : value.toString("base64"));
    }
    const peer = call.getPeer();
    const contextValues = createContextValues().set(
      requestInfoKey,
      requestInfoFrom(peer, (name) => requestHeader.get(name) ?? undefined, options.trustedProxies),
    );
    const cancelled = new AbortController();
    call.once("cancelled", () => cancelled.abort(new ConnectError("the client cancelled the call", Code.Canceled)));
    const context = createHandlerContext({
      service: method.parent,
      method,
      protocolName: "grpc",
      requestMethod: "POST",
      url: path,
      requestHeader,
      requestSignal: cancelled.signal,
      contextValues,
    });
    const inner: AnyUnary = async (request) => {
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
    // The first interceptor is the outermost, as in connect-node.
    const next = options.interceptors.reduceRight<AnyUnary>(
      (wrapped, interceptor) => interceptor(wrapped as never) as AnyUnary,
      inner,
    );
    next({
      stream: false,
      service: method.parent,
      method,
      requestMethod: "POST",
      url: path,
      signal: context.signal,
      header: requestHeader,
      contextValues: context.values,
      message: call.request as never,
    }).then(
      (response) => {
        const header = toMetadata(response.header);
        if (header) call.sendMetadata(header);
        callback(null, response.message, toMetadata(response.trailer));
      },
      (error: unknown) => callback(toServiceError(ConnectError.from(error))),
    );
  };
}

/** Web headers as grpc-js metadata (binary `-bin` values are base64 in Headers); undefined when empty. */
function toMetadata(headers: Headers): grpc.Metadata | undefined {
  let metadata: grpc.Metadata | undefined;
  headers.forEach((value, key) => {
    metadata ??= new grpc.Metadata();
    if (key.endsWith("-bin")) metadata.set(key, Buffer.from(value, "base64"));
    else metadata.set(key, value);
  });
  return metadata;
}

/** A ConnectError as grpc-js sends it: code, message, google.rpc.Status details and the error's metadata. */
function toServiceError(error: ConnectError): Partial<grpc.StatusObject> {
  const trailer = new Headers();
  setTrailerStatus(trailer, error);
  const metadata = toMetadata(error.metadata) ?? new grpc.Metadata();
  const details = trailer.get("grpc-status-details-bin");
  if (details) metadata.set("grpc-status-details-bin", Buffer.from(details, "base64"));
  return { code: error.code as number as grpc.status, details: error.rawMessage, metadata };
}
