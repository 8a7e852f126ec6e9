// Ways to call any RPC of a service with any bytes, through real clients: the Connect client over
// HTTP/1.1 (binary or JSON), fetch with a hand-built Connect body, and @grpc/grpc-js over HTTP/2
// with a pass-through serializer, so that a body can be anything a broken or hostile client sends.
import { toBinary, type DescMessage, type DescMethod, type DescService, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type CallOptions } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";

/** How a call ended: OK, or the gRPC/Connect code of its error. */
export interface Outcome {
  code: Code | "ok";
  message: string;
}

export function describeOutcome(outcome: Outcome): string {
  return `${outcome.code === "ok" ? "OK" : Code[outcome.code]}: ${outcome.message.slice(0, 200)}`;
}

function authorization(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

type AnyUnary = (request: unknown, options?: CallOptions) => Promise<unknown>;

/** The generated Connect client, as an application uses it, over HTTP/1.1. */
export function connectCaller(baseUrl: string, service: DescService, useBinaryFormat: boolean) {
  const client = createClient(
    service,
    createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat }),
  ) as unknown as Record<string, AnyUnary>;
  return async (method: DescMethod, message: MessageShape<DescMessage>, token?: string): Promise<Outcome> => {
    try {
      await client[method.localName]!(message, { headers: authorization(token), timeoutMs: 20_000 });
      return { code: "ok", message: "" };
    } catch (error) {
      const connectError = ConnectError.from(error);
      return { code: connectError.code, message: connectError.rawMessage };
    }
  };
}

/** A Connect unary POST with any body, as fetch (a browser, curl) sends it. */
export async function postConnect(
  baseUrl: string,
  method: DescMethod,
  body: Uint8Array,
  options: { contentType?: string; token?: string; headers?: Record<string, string> } = {},
): Promise<Outcome & { status: number }> {
  const response = await fetch(`${baseUrl}/${method.parent.typeName}/${method.name}`, {
    method: "POST",
    headers: {
      "content-type": options.contentType ?? "application/proto",
      "connect-protocol-version": "1",
      ...authorization(options.token),
      ...options.headers,
    },
    body: Buffer.from(body),
  });
  const text = await response.text();
  if (response.ok) return { code: "ok", message: "", status: response.status };
  let parsed: { code?: string; message?: string } = {};
  try {
    parsed = JSON.parse(text) as { code?: string; message?: string };
  } catch {
    // A non-Connect answer (e.g. a proxy page): keep the raw text as the message.
  }
  const code = parsed.code ? codeFromConnectName(parsed.code) : undefined;
  return {
    code: code ?? Code.Unknown,
    message: parsed.message ?? `HTTP ${response.status}: ${text.slice(0, 200)}`,
    status: response.status,
  };
}

function codeFromConnectName(name: string): Code | undefined {
  const key = name
    .replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())
    .replace(/^[a-z]/, (letter) => letter.toUpperCase());
  const value = (Code as unknown as Record<string, number>)[key];
  return typeof value === "number" ? (value as Code) : undefined;
}

/** A gRPC-Web unary POST with any message bytes, as a browser's gRPC-Web client sends it (HTTP/1.1). */
export async function postGrpcWeb(
  baseUrl: string,
  method: DescMethod,
  message: Uint8Array,
  token?: string,
): Promise<Outcome> {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  const response = await fetch(`${baseUrl}/${method.parent.typeName}/${method.name}`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", ...authorization(token) },
    body: frame,
  });
  const body = Buffer.from(await response.arrayBuffer());
  // The status is in a header (trailers-only answer) or in the trailer frame (flag 0x80) at the end.
  let status = response.headers.get("grpc-status");
  let text = response.headers.get("grpc-message") ?? "";
  for (let offset = 0; offset + 5 <= body.length; ) {
    const length = body.readUInt32BE(offset + 1);
    if (body[offset] === 0x80) {
      const trailer = body.subarray(offset + 5, offset + 5 + length).toString("latin1");
      status = /^grpc-status: *(\d+)/im.exec(trailer)?.[1] ?? status;
      text = /^grpc-message: *(.*?)\r?$/im.exec(trailer)?.[1] ?? text;
    }
    offset += 5 + length;
  }
  if (status === null) return { code: Code.Unknown, message: `HTTP ${response.status} without grpc-status` };
  const code = Number(status);
  return code === 0 ? { code: "ok", message: "" } : { code: code as Code, message: safeDecode(text) };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** grpc-js over HTTP/2: a real gRPC client whose serializer passes bytes through untouched. */
export function grpcRawCaller(address: string) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const identity = (bytes: Buffer) => bytes;
  return {
    call(method: DescMethod, body: Uint8Array, token?: string): Promise<Outcome> {
      const metadata = new grpc.Metadata();
      if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
      return new Promise((resolve) => {
        client.makeUnaryRequest(
          `/${method.parent.typeName}/${method.name}`,
          identity,
          identity,
          Buffer.from(body),
          metadata,
          { deadline: Date.now() + 20_000 },
          (error) =>
            resolve(
              error ? { code: error.code as number as Code, message: error.details } : { code: "ok", message: "" },
            ),
        );
      });
    },
    /** Encodes a typed message and calls with it. */
    callMessage(method: DescMethod, message: MessageShape<DescMessage>, token?: string): Promise<Outcome> {
      return this.call(method, toBinary(method.input, message), token);
    },
    close: () => client.close(),
  };
}

export type GrpcRawCaller = ReturnType<typeof grpcRawCaller>;

/** grpc.health.v1 Check for the whole server ("") and for `service`: both SERVING when healthy. */
export async function healthStatuses(baseUrl: string, service: DescService): Promise<string[]> {
  const health = createClient(Health, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
  const statuses: string[] = [];
  for (const name of ["", service.typeName]) {
    try {
      const response = await health.check({ service: name });
      statuses.push(HealthCheckResponse_ServingStatus[response.status]);
    } catch (error) {
      // A server that reports only "" (no per-service status) answers NOT_FOUND for the service.
      if (name === "" || ConnectError.from(error).code !== Code.NotFound) throw error;
      statuses.push(statuses[0]!);
    }
  }
  return statuses;
}

/** Codes a client may get for anything it sends; never INTERNAL, UNKNOWN, DATA_LOSS or UNAVAILABLE. */
export const clientErrorCodes: ReadonlySet<Code | "ok"> = new Set<Code | "ok">([
  "ok",
  Code.InvalidArgument,
  Code.Unauthenticated,
  Code.PermissionDenied,
  Code.NotFound,
  Code.AlreadyExists,
  Code.FailedPrecondition,
  Code.ResourceExhausted,
  Code.OutOfRange,
]);
