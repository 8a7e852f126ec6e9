// Prototype for the question: serve internal gRPC callers from a second listener on
// @grpc/grpc-js, backed by the very same Connect handlers and interceptors. The routes function is
// run against a router that only records the implementations; each unary method becomes a grpc-js
// handler that decodes with protobuf-es, runs the interceptor chain around the implementation, and
// maps a ConnectError to the gRPC status, message and google.rpc.Status details (as connect-node does).
import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescMethodUnary, type DescService } from "@bufbuild/protobuf";
import {
  ConnectError,
  createHandlerContext,
  createMethodImplSpec,
  createServiceImplSpec,
  type ConnectRouter,
  type ContextValues,
  type Interceptor,
  type MethodImplSpec,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";

export interface BridgeOptions {
  routes: (router: ConnectRouter) => void;
  /** The same chain as the Connect server's, outermost first. */
  interceptors: Interceptor[];
  contextValues: (call: grpc.ServerUnaryCall<unknown, unknown>) => ContextValues;
}

type AnyUnary = (request: UnaryRequest) => Promise<UnaryResponse>;

export function addRoutesToGrpcJs(server: grpc.Server, options: BridgeOptions): void {
  const byService = new Map<DescService, MethodImplSpec[]>();
  const record = (service: DescService, spec: MethodImplSpec) => {
    const list = byService.get(service) ?? [];
    list.push(spec);
    byService.set(service, list);
  };
  const router: ConnectRouter = {
    handlers: [],
    service(service, implementation) {
      const spec = createServiceImplSpec(service, implementation);
      for (const method of Object.values(spec.methods)) record(service, method);
      return router;
    },
    rpc(method, implementation) {
      record(method.parent, createMethodImplSpec(method, implementation));
      return router;
    },
  };
  options.routes(router);

  for (const [service, specs] of byService) {
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const spec of specs) {
      if (spec.kind !== "unary") continue; // streaming methods stay on the Connect listener
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
      implementation[method.localName] = unaryHandler(method, spec.impl as never, options);
    }
    server.addService(definition as grpc.ServiceDefinition, implementation);
  }
}

function serializer(schema: DescMessage) {
  return (message: unknown) => Buffer.from(toBinary(schema, message as never));
}

function deserializer(schema: DescMessage) {
  return (bytes: Buffer): unknown => fromBinary(schema, bytes);
}

function unaryHandler(
  method: DescMethodUnary,
  impl: (request: unknown, context: ReturnType<typeof createHandlerContext>) => unknown,
  options: BridgeOptions,
): grpc.handleUnaryCall<unknown, unknown> {
  const path = `/${method.parent.typeName}/${method.name}`;
  return (call, callback) => {
    const requestHeader = new Headers();
    for (const [key, value] of Object.entries(call.metadata.getMap())) {
      if (typeof value === "string") requestHeader.set(key, value);
    }
    const context = createHandlerContext({
      service: method.parent,
      method,
      protocolName: "grpc",
      requestMethod: "POST",
      url: path,
      requestHeader,
      contextValues: options.contextValues(call),
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
        message: message as never,
      };
    };
    let next = inner;
    for (const interceptor of [...options.interceptors].reverse()) next = interceptor(next as never) as AnyUnary;
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
      (response) => callback(null, response.message),
      (error: unknown) => callback(toServiceError(ConnectError.from(error))),
    );
  };
}

function toServiceError(error: ConnectError): Partial<grpc.StatusObject> {
  const trailer = new Headers();
  setTrailerStatus(trailer, error);
  const metadata = new grpc.Metadata();
  const details = trailer.get("grpc-status-details-bin");
  if (details) metadata.set("grpc-status-details-bin", Buffer.from(details, "base64"));
  error.metadata.forEach((value, key) => metadata.set(key, value));
  return { code: error.code as number as grpc.status, details: error.rawMessage, metadata };
}
