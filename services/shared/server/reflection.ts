// gRPC server reflection (grpc.reflection.v1 and v1alpha), so that grpcurl, buf curl and
// Postman can call the services without having the .proto files.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescFile } from "@bufbuild/protobuf";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import {
  ErrorResponseSchema,
  ExtensionNumberResponseSchema,
  FileDescriptorResponseSchema,
  ListServiceResponseSchema,
  ServerReflection,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { createDescriptorIndex, type DescriptorIndex } from "./reflection-index.js";

export interface ReflectionOptions {
  /**
   * Files to describe besides those of the services registered on the router, for example
   * the event schemas, so that clients can look their types up too.
   */
  readonly files?: readonly DescFile[];
}

/**
 * Serves reflection for every service registered on `router`, whenever it was registered:
 * list_services answers what this server really serves, and the descriptors are collected
 * on the first request, when all routes are in place.
 */
export function registerReflectionService(router: ConnectRouter, options: ReflectionOptions = {}): void {
  let index: DescriptorIndex | undefined;
  const getIndex = (): DescriptorIndex =>
    (index ??= createDescriptorIndex(
      router.handlers.map((handler) => handler.service),
      options.files ?? [],
    ));

  router.service(ServerReflection, {
    serverReflectionInfo: (requests) => answerAll(getIndex(), requests),
  });
  router.service(v1alpha.ServerReflection, {
    serverReflectionInfo: (requests) => answerAllV1alpha(getIndex(), requests),
  });
}

type Answer = ServerReflectionResponse["messageResponse"];

async function* answerAll(
  index: DescriptorIndex,
  requests: AsyncIterable<ServerReflectionRequest>,
): AsyncGenerator<ServerReflectionResponse> {
  // Dependencies go to a client once per stream; it keeps what it was sent.
  const sent = new Set<string>();
  for await (const request of requests) {
    yield create(ServerReflectionResponseSchema, {
      validHost: request.host,
      originalRequest: request,
      messageResponse: answer(index, request, sent),
    });
  }
}

/**
 * v1alpha is v1 under another package name: the messages are identical on the wire, so
 * v1alpha requests and answers pass through the v1 implementation by re-encoding them.
 */
async function* answerAllV1alpha(
  index: DescriptorIndex,
  requests: AsyncIterable<v1alpha.ServerReflectionRequest>,
): AsyncGenerator<v1alpha.ServerReflectionResponse> {
  for await (const response of answerAll(index, asV1(requests))) {
    yield fromBinary(v1alpha.ServerReflectionResponseSchema, toBinary(ServerReflectionResponseSchema, response));
  }
}

async function* asV1(
  requests: AsyncIterable<v1alpha.ServerReflectionRequest>,
): AsyncGenerator<ServerReflectionRequest> {
  for await (const request of requests) {
    yield fromBinary(ServerReflectionRequestSchema, toBinary(v1alpha.ServerReflectionRequestSchema, request));
  }
}

function answer(index: DescriptorIndex, request: ServerReflectionRequest, sent: Set<string>): Answer {
  const query = request.messageRequest;
  switch (query.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: create(ListServiceResponseSchema, {
          service: index.serviceNames.map((name) => ({ name })),
        }),
      };
    case "fileByFilename":
      return filesAnswer(index, index.fileByName(query.value), sent, `file "${query.value}"`);
    case "fileContainingSymbol":
      return filesAnswer(index, index.fileContainingSymbol(query.value), sent, `symbol "${query.value}"`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = query.value;
      return filesAnswer(
        index,
        index.fileContainingExtension(containingType, extensionNumber),
        sent,
        `extension ${extensionNumber} of "${containingType}"`,
      );
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbersOf(query.value);
      if (numbers === undefined) return errorAnswer(Code.NotFound, `type "${query.value}" not found`);
      return {
        case: "allExtensionNumbersResponse",
        value: create(ExtensionNumberResponseSchema, {
          baseTypeName: query.value,
          extensionNumber: numbers,
        }),
      };
    }
    case undefined:
      return errorAnswer(Code.InvalidArgument, "the request names no reflection query");
  }
}

/**
 * The requested file is always sent, even if this stream had it already (so that an answer
 * is never empty); its transitive dependencies only when this stream has not had them yet.
 */
function filesAnswer(index: DescriptorIndex, file: DescFile | undefined, sent: Set<string>, what: string): Answer {
  if (file === undefined) return errorAnswer(Code.NotFound, `${what} not found`);
  const names = [file.proto.name];
  sent.add(file.proto.name);
  for (const dependency of index.dependenciesOf(file)) {
    if (sent.has(dependency.proto.name)) continue;
    sent.add(dependency.proto.name);
    names.push(dependency.proto.name);
  }
  return {
    case: "fileDescriptorResponse",
    value: create(FileDescriptorResponseSchema, {
      fileDescriptorProto: names.map((name) => index.encodedFile(name)),
    }),
  };
}

function errorAnswer(code: Code, message: string): Answer {
  // Connect's codes are gRPC's status codes, number for number.
  return {
    case: "errorResponse",
    value: create(ErrorResponseSchema, { errorCode: code, errorMessage: message }),
  };
}
