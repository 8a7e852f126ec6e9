import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fromBinary, toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { credentials, Client, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  file_grpc_health_v1_health,
  Health,
  HealthCheckResponse_ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { AuthService, file_mintcoin_auth_v1_auth } from "../../gen/mintcoin/auth/v1/auth_pb.js";
import { createHealthStatus, registerHealthService } from "../../services/shared/server/health.js";
import { registerReflectionService } from "../../services/shared/server/reflection.js";
import type { UserServiceHandle } from "../../services/user/app.js";
import { startUser, type RunningService } from "../fixtures/services.js";
import { createTestDatabase, type TestDatabase } from "../support/index.js";
import { grpcMethod, startH2cServer, type RunningServer } from "./grpc-test-kit.js";
import { fixtureFile, probeFile, ProbeService } from "./reflection-fixtures.js";

interface ReflectionRequest {
  host?: string;
  listServices?: string;
  fileByFilename?: string;
  fileContainingSymbol?: string;
  fileContainingExtension?: { containingType: string; extensionNumber: number };
  allExtensionNumbersOfType?: string;
}
interface ReflectionResponse {
  validHost: string;
  originalRequest: ReflectionRequest & { messageRequest: string };
  messageResponse: string;
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  allExtensionNumbersResponse?: { baseTypeName: string; extensionNumber: number[] };
  listServicesResponse?: { service: Array<{ name: string }> };
  errorResponse?: { errorCode: number; errorMessage: string };
}

const versions = ["v1", "v1alpha"] as const;
const reflectionMethods = Object.fromEntries(
  versions.map((version) => [
    version,
    grpcMethod<ReflectionRequest, ReflectionResponse>(
      `grpc/reflection/${version}/reflection.proto`,
      `grpc.reflection.${version}.ServerReflection`,
      "ServerReflectionInfo",
    ),
  ]),
);

const fileNames = (response: ReflectionResponse): string[] =>
  (response.fileDescriptorResponse?.fileDescriptorProto ?? []).map(
    (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
  );

let server: RunningServer;
let client: Client;

beforeAll(async () => {
  server = await startH2cServer((router) => {
    // fixture.proto has no service: it is reachable only through `files`.
    registerReflectionService(router, { files: [fixtureFile] });
    // Registered after reflection on purpose: reflection must still describe them.
    registerHealthService(router, createHealthStatus());
    router.service(ProbeService, { echo: (request) => request });
    router.service(AuthService, {}); // described, not implemented: reflection needs no handlers
  });
  client = new Client(server.address, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await server.close();
});

/** One reflection stream; ask() sends a request and waits for its answer. */
function openReflection(version: (typeof versions)[number]) {
  const method = reflectionMethods[version]!;
  const call = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize);
  const waiting: Array<{ resolve(response: ReflectionResponse): void; reject(error: Error): void }> = [];
  call.on("data", (response: ReflectionResponse) => waiting.shift()?.resolve(response));
  // A failed stream fails every pending question at once instead of leaving it to time out.
  call.on("error", (error: Error) => {
    for (const pending of waiting.splice(0)) pending.reject(error);
  });
  return {
    ask(request: ReflectionRequest): Promise<ReflectionResponse> {
      const answered = new Promise<ReflectionResponse>((resolve, reject) => waiting.push({ resolve, reject }));
      call.write(request);
      return answered;
    },
    end: () => call.end(),
  };
}

describe.each(versions)("grpc.reflection.%s.ServerReflection, called with grpc-js", (version) => {
  it("lists every service registered on the router, including ones registered after it", async () => {
    const stream = openReflection(version);
    const response = await stream.ask({ listServices: "*" });
    expect(response.listServicesResponse?.service.map((service) => service.name)).toEqual([
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "grpc.health.v1.Health",
      "test.reflection.ProbeService",
      "mintcoin.auth.v1.AuthService",
    ]);
    stream.end();
  });

  it("answers file_containing_symbol with the file first, then its imports", async () => {
    const stream = openReflection(version);
    const response = await stream.ask({ fileContainingSymbol: "test.reflection.ProbeService" });
    const names = fileNames(response);
    expect(names[0]).toBe("test/reflection/probe.proto");
    expect(new Set(names)).toEqual(new Set(allFilesOf(probeFile)));
    expect(names).toHaveLength(new Set(names).size);
    stream.end();
  });

  it("describes AuthService with every file it imports, each once", async () => {
    const stream = openReflection(version);
    const response = await stream.ask({ fileContainingSymbol: "mintcoin.auth.v1.AuthService.Login" });
    const names = fileNames(response);
    expect(names[0]).toBe("mintcoin/auth/v1/auth.proto");
    expect(names).toHaveLength(new Set(names).size);
    expect(new Set(names)).toEqual(new Set(allFilesOf(file_mintcoin_auth_v1_auth)));
    stream.end();
  });

  it("serves each descriptor exactly as the generated code embeds it", async () => {
    const stream = openReflection(version);
    const response = await stream.ask({ fileByFilename: "grpc/health/v1/health.proto" });
    const served = response.fileDescriptorResponse!.fileDescriptorProto[0]!;
    expect(new Uint8Array(served)).toEqual(toBinary(FileDescriptorProtoSchema, file_grpc_health_v1_health.proto));
    stream.end();
  });

  it.each([
    ["a service", "grpc.health.v1.Health", "grpc/health/v1/health.proto"],
    ["a method", "grpc.health.v1.Health.Watch", "grpc/health/v1/health.proto"],
    ["a nested enum", "grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
    ["a message", "test.reflection.Base", "test/reflection/fixture.proto"],
    ["a nested message", "test.reflection.Base.Inner", "test/reflection/fixture.proto"],
    ["a field", "test.reflection.Base.created_at", "test/reflection/fixture.proto"],
    ["an enum value", "test.reflection.COLOR_RED", "test/reflection/fixture.proto"],
    ["an extension", "test.reflection.flag", "test/reflection/fixture.proto"],
    ["a type from an import", "google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
  ])("finds the file that defines %s", async (_what, symbol, file) => {
    const stream = openReflection(version);
    const response = await stream.ask({ fileContainingSymbol: symbol });
    expect(fileNames(response)[0]).toBe(file);
    stream.end();
  });

  it("sends an import once per stream, but the requested file every time", async () => {
    const first = openReflection(version);
    expect(fileNames(await first.ask({ fileByFilename: "test/reflection/fixture.proto" }))).toEqual([
      "test/reflection/fixture.proto",
      "google/protobuf/timestamp.proto",
    ]);
    expect(fileNames(await first.ask({ fileContainingSymbol: "test.reflection.Base" }))).toEqual([
      "test/reflection/fixture.proto",
    ]);
    first.end();
    const second = openReflection(version);
    expect(fileNames(await second.ask({ fileContainingSymbol: "test.reflection.Color" }))).toEqual([
      "test/reflection/fixture.proto",
      "google/protobuf/timestamp.proto",
    ]);
    second.end();
  });

  it("answers extension queries", async () => {
    const stream = openReflection(version);
    const byNumber = await stream.ask({
      fileContainingExtension: { containingType: "test.reflection.Base", extensionNumber: 150 },
    });
    expect(fileNames(byNumber)[0]).toBe("test/reflection/fixture.proto");
    const numbers = await stream.ask({ allExtensionNumbersOfType: "test.reflection.Base" });
    expect(numbers.allExtensionNumbersResponse).toEqual({
      baseTypeName: "test.reflection.Base",
      extensionNumber: [100, 150],
    });
    const none = await stream.ask({ allExtensionNumbersOfType: "grpc.health.v1.HealthCheckRequest" });
    expect(none.allExtensionNumbersResponse?.extensionNumber).toEqual([]);
    stream.end();
  });

  it.each([
    [{ fileByFilename: "no/such/file.proto" }],
    [{ fileContainingSymbol: "no.such.Symbol" }],
    [{ fileContainingSymbol: "grpc.health.v1.Health.NoSuchMethod" }],
    [{ fileContainingExtension: { containingType: "test.reflection.Base", extensionNumber: 101 } }],
    [{ fileContainingExtension: { containingType: "no.such.Message", extensionNumber: 100 } }],
    [{ allExtensionNumbersOfType: "no.such.Message" }],
  ])("answers %o with a NOT_FOUND error_response and keeps the stream open", async (request) => {
    const stream = openReflection(version);
    const failed = await stream.ask({ host: "example.test", ...request });
    expect(failed.messageResponse).toBe("errorResponse");
    expect(failed.errorResponse?.errorCode).toBe(5);
    expect(failed.validHost).toBe("example.test");
    expect(failed.originalRequest).toMatchObject(request);
    const next = await stream.ask({ listServices: "" });
    expect(next.messageResponse).toBe("listServicesResponse");
    stream.end();
  });
});

function allFilesOf(file: DescFile): string[] {
  const names = new Set<string>();
  const visit = (f: DescFile): void => {
    if (names.has(f.proto.name)) return;
    names.add(f.proto.name);
    f.dependencies.forEach(visit);
  };
  visit(file);
  return [...names];
}

describe("buf curl against the server (reflection as third-party tools use it)", () => {
  const buf = (...args: string[]) =>
    promisify(execFile)("node_modules/.bin/buf", ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], {
      timeout: 30_000,
    });

  it.each(["grpc-v1", "grpc-v1alpha"])("lists methods using reflection protocol %s", async (protocol) => {
    const { stdout } = await buf("--reflect-protocol", protocol, "--list-methods", `http://${server.address}`);
    const methods = stdout.trim().split("\n");
    expect(methods).toEqual(
      expect.arrayContaining([
        "grpc.health.v1.Health/Check",
        "grpc.health.v1.Health/Watch",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ...Health.methods.map((method) => `grpc.health.v1.Health/${method.name}`),
        "test.reflection.ProbeService/Echo",
        ...AuthService.methods.map((method) => `mintcoin.auth.v1.AuthService/${method.name}`),
      ]),
    );
  });

  it("calls Health.Check with a schema it learned only from reflection", async () => {
    const { stdout } = await buf("-d", '{"service":""}', `http://${server.address}/grpc.health.v1.Health/Check`);
    expect(JSON.parse(stdout)).toEqual({ status: "SERVING" });
  });

  it("calls a method whose types come from imports and carry another file's extension", async () => {
    // FieldOptions lives in google/protobuf/descriptor.proto; [buf.validate.field] extends it.
    const body = { deprecated: true, "[buf.validate.field]": { required: true } };
    const { stdout } = await buf(
      "-d",
      JSON.stringify(body),
      `http://${server.address}/test.reflection.ProbeService/Echo`,
    );
    expect(JSON.parse(stdout)).toEqual(body);
  });
});

describe("GRPC_REFLECTION on a service's own port", () => {
  let database: TestDatabase;
  const started: Array<RunningService<UserServiceHandle>> = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const service of started) await service.close();
    await database?.drop();
  });

  const userService = async (env: Record<string, string>) => {
    const service = await startUser({ USER_DATABASE_URL: database.url, USER_METRICS_PORT: "off", ...env });
    started.push(service);
    return service;
  };
  const listServices = async (address: string) => {
    const raw = new Client(address, credentials.createInsecure());
    const method = reflectionMethods.v1!;
    try {
      return await new Promise<string[]>((resolve, reject) => {
        const call = raw.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize);
        call.on("data", (response: ReflectionResponse) => {
          resolve(response.listServicesResponse?.service.map((service) => service.name) ?? []);
          call.end();
        });
        call.on("error", reject);
        call.write({ listServices: "*" });
      });
    } finally {
      raw.close();
    }
  };

  it("is on by default: the service's methods can be listed", async () => {
    const service = await userService({});
    expect(await listServices(service.address)).toContain("mintcoin.user.v1.UserService");
  });

  it("off: reflection is UNIMPLEMENTED (buf curl cannot list), health is still served", async () => {
    const service = await userService({ GRPC_REFLECTION: "off" });
    const refused = await listServices(service.address).then(
      () => undefined,
      (error: ServiceError) => error,
    );
    expect(refused?.code).toBe(status.UNIMPLEMENTED);
    const listing = await promisify(execFile)(
      "node_modules/.bin/buf",
      ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", service.baseUrl],
      { timeout: 30_000 },
    ).then(
      () => "listed",
      () => "refused",
    );
    expect(listing).toBe("refused");
    const health = createClient(Health, createGrpcTransport({ baseUrl: service.baseUrl }));
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });
});
